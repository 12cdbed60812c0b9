"""Type annotations as a small tree, rendered to source text.

A generated module's imports are computed from the trees it uses (`Ann.imports`), never
found by searching the rendered text; the list/item relations pagination needs
(`Ann.item`) are read from the tree too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The names an annotation may use that a module must import (builtins and models aside);
# which module each comes from is the emitter's business (`_emit.import_lines`).
IMPORTED = frozenset({"Any", "FileInput", "Literal", "Mapping", "Paginated", "Sequence"})


@dataclass(frozen=True)
class Ann:
    """``name[args]``; a union when ``name`` is ``|``; ``Literal[values]`` when ``values``."""

    name: str
    args: tuple[Ann, ...] = ()
    model: bool = False  # ``name`` is a generated model
    values: tuple[str, ...] = ()  # the strings of a ``Literal``

    def render(self, shadowed_list: bool = False) -> str:
        """The source text; ``builtins.list`` where a method named ``list`` shadows it."""
        if self.name == "|":
            return " | ".join(a.render(shadowed_list) for a in self.args)
        if self.values:
            return "Literal[" + ", ".join(json.dumps(v) for v in self.values) + "]"
        name = "builtins.list" if shadowed_list and self.name == "list" else self.name
        if not self.args:
            return name
        return f"{name}[{', '.join(a.render(shadowed_list) for a in self.args)}]"

    @property
    def text(self) -> str:
        return self.render()

    @property
    def deps(self) -> frozenset[str]:
        """The generated models this annotation names."""
        own = {self.name} if self.model else set()
        return frozenset(own.union(*(a.deps for a in self.args)))

    @property
    def imports(self) -> frozenset[str]:
        """The names, other than builtins and models, that the rendered text uses."""
        own = {self.name} if self.name in IMPORTED else set()
        if self.values:
            own.add("Literal")
        return frozenset(own.union(*(a.imports for a in self.args)))

    def mentions(self, name: str) -> bool:
        """Whether ``name`` appears anywhere in the tree."""
        return self.name == name or any(a.mentions(name) for a in self.args)

    @property
    def item(self) -> Ann | None:
        """The element type of a ``list[...]``, else None."""
        return self.args[0] if self.name == "list" and self.args else None


def named(name: str) -> Ann:
    return Ann(name)


def model(name: str) -> Ann:
    return Ann(name, model=True)


def generic(name: str, *args: Ann) -> Ann:
    return Ann(name, tuple(args))


def union(*parts: Ann) -> Ann:
    flat: list[Ann] = []
    for part in parts:
        flat.extend(part.args if part.name == "|" else (part,))
    return Ann("|", tuple(flat))


def literal_or_str(values: list[str]) -> Ann:
    """A string enum that still accepts values Clerk adds later."""
    return union(Ann("Literal", values=tuple(values)), named("str"))


ANY = named("Any")
STR = named("str")
MAPPING = generic("Mapping", STR, ANY)  # what a plain-dict argument is typed as
