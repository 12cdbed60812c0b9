"""The base class of every generated model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

__all__ = ["Model", "Paginated", "masked_repr"]

T = TypeVar("T")


class Model(msgspec.Struct, kw_only=True, omit_defaults=True, repr_omit_defaults=True):
    """A Backend API object: a msgspec Struct with keyword-only fields.

    Unknown fields in Clerk's answers are ignored, optional fields that Clerk did not send are
    ``None`` (or ``UNSET`` in models sent with a request), and ``repr`` leaves them out.
    """

    def to_dict(self) -> dict[str, Any]:
        """The model as plain JSON-compatible Python data, unset fields left out."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


class Paginated(Model, Generic[T], kw_only=True):
    """The object answer of a list operation whose spec answer is a bare array, when the call
    passes ``paginated=True``: the page's items and how many match in all."""

    data: list[T]
    total_count: int


def masked_repr(*secret_fields: str) -> Callable[[Model], str]:
    """A ``__repr__`` that shows ``'***'`` instead of the named credential fields."""
    secrets = frozenset(secret_fields)

    def __repr__(self: Model) -> str:
        parts = []
        for info in msgspec.structs.fields(self):
            value = getattr(self, info.name)
            if value is info.default:
                continue
            shown = "'***'" if info.name in secrets and value else repr(value)
            parts.append(f"{info.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    return __repr__
