"""Framework glue: FastAPI dependencies and Starlette middleware (import the submodule you need)."""
