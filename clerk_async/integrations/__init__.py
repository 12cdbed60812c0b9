"""Framework glue: FastAPI dependencies (`fastapi`), Starlette middleware (`starlette`), and
webhook receiving for both; import the submodule you need."""
