"""The base class of every generated resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Resources

__all__ = ["Resource"]


class Resource:
    """A group of operations; each method sends its request through the client."""

    __slots__ = ("_client",)

    def __init__(self, client: Resources) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
