"""The public API is what `tests/public_api.txt` says it is: every change to it is a reviewed diff.

The snapshot lists every name each public module exports, with its signature: functions and
methods with their parameters and return type, classes with their bases, public methods and
properties, models with their fields. After a deliberate change, regenerate it with

    python -m tests.test_public_api --update

and commit the diff with the change.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("public_api.txt")
# Every module a user imports from; resource classes are reached through their modules.
MODULES = (
    "clerk_async",
    "clerk_async.auth",
    "clerk_async.integrations.fastapi",
    "clerk_async.integrations.starlette",
    "clerk_async.models",
    "clerk_async.testing",
    "clerk_async.webhooks",
)


def _resource_modules() -> list[str]:
    folder = Path(importlib.import_module("clerk_async.resources").__file__ or "").parent
    return sorted(
        f"clerk_async.resources.{p.stem}" for p in folder.glob("*.py") if not p.stem.startswith("_")
    )


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return re.sub(r" at 0x[0-9a-f]+>", ">", text)  # a default's repr names no address


def _members(cls: type) -> Iterator[str]:
    """A class's own public surface: fields, properties and methods, in a stable order."""
    fields = getattr(cls, "__struct_fields__", None)
    annotations = inspect.get_annotations(cls)
    for name in fields if fields is not None else sorted(annotations):
        if not name.startswith("_") and name in annotations:
            yield f"  {name}: {annotations[name]}"
    for name, value in sorted(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, property) and value.fget is not None:
            yield f"  {name}: property -> {inspect.signature(value.fget).return_annotation}"
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            function = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            marker = " [deprecated]" if hasattr(function, "__deprecated__") else ""
            kind = "async def" if inspect.iscoroutinefunction(function) else "def"
            yield f"  {kind} {name}{_signature(function)}{marker}"
        elif name not in annotations and not callable(value) and not name.startswith("_"):
            yield f"  {name} = {value!r}"


def _describe(name: str, obj: Any) -> Iterator[str]:
    if inspect.isclass(obj):
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        yield f"class {name}({bases})"
        yield from _members(obj)
    elif inspect.isfunction(obj):
        kind = "async def" if inspect.iscoroutinefunction(obj) else "def"
        yield f"{kind} {name}{_signature(obj)}"
    elif isinstance(obj, (str, int, float, bool, tuple, frozenset)):
        yield f"{name} = {obj!r}"
    else:
        yield f"{name}: {type(obj).__name__}"


def render() -> str:
    """The current public API, as the snapshot file holds it."""
    lines: list[str] = []
    for module_name in (*MODULES, *_resource_modules()):
        module = importlib.import_module(module_name)
        lines.append(f"# {module_name}")
        for name in sorted(module.__all__):
            obj = getattr(module, name)
            defined_here = getattr(obj, "__module__", module_name).startswith(module_name)
            if module_name == "clerk_async.models" or defined_here or module_name == "clerk_async":
                lines.extend(_describe(name, obj))
            else:  # re-exported: described where it is defined
                lines.append(f"{name} -> {obj.__module__}.{getattr(obj, '__qualname__', name)}")
        lines.append("")
    return "\n".join(lines)


def test_public_api_matches_the_committed_snapshot() -> None:
    current = render()
    committed = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            "tests/public_api.txt (committed)",
            "public API (now)",
            n=1,
        )
    )
    assert not diff, (
        "The public API changed. If that is intended, run `python -m tests.test_public_api "
        "--update` and commit tests/public_api.txt with the change.\n" + diff[:6000]
    )


def test_each_export_is_listed_once_and_resolves() -> None:
    """`__all__`, the lazy-import table and the imports type checkers read name the same
    exports, each once, from the same module."""
    import ast

    import clerk_async

    assert len(clerk_async.__all__) == len(set(clerk_async.__all__))
    assert sorted(clerk_async.__all__) == sorted([*clerk_async._EXPORTS, "__version__"])
    tree = ast.parse(Path(clerk_async.__file__ or "").read_text())
    checking = next(n for n in tree.body if isinstance(n, ast.If))
    static = [
        (alias.name, (node.module or "").lstrip("."))
        for node in checking.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    assert sorted(static) == sorted(clerk_async._EXPORTS.items())
    for name in clerk_async.__all__:
        assert getattr(clerk_async, name) is not None


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_public_api --update")
    SNAPSHOT.write_text(render())
    print(f"wrote {SNAPSHOT}")
