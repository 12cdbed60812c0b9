"""The contract between generated resources and the transport: one :class:`Operation` per call.

An operation is plain data written by the generator. Everything that differs between the 249
operations (where arguments go, how the answer decodes, whether it is deprecated) is a field
here, so the transport has a single path and no special cases.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, Literal, TypeVar
from urllib.parse import quote, unquote

import msgspec

__all__ = ["Operation", "either"]

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
# Percent-decoding this many times catches nested encodings such as %252e%252e.
_DECODE_ROUNDS = 4
_DOT_SEGMENTS = frozenset({"", ".", ".."})
T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


def either(first: type[A], second: type[B]) -> type[A | B]:
    """An ``Operation.response`` for an answer that comes in one of two shapes, a JSON array or
    a JSON object; msgspec tells which from the JSON itself."""
    return first | second  # type: ignore[return-value]  # a union is a type to msgspec


@dataclass(frozen=True)
class Operation(Generic[T]):
    """Everything the transport needs to know about one Backend API operation.

    Attributes:
        name: ``resource.method``, used in errors and logs.
        method: the HTTP method.
        path: the path template, with ``{name}`` placeholders in path-parameter order.
        response: the type a 2xx body decodes into; ``None`` when the body is ignored.
        body: ``"json"``, ``"multipart"`` or ``None`` for no body.
        files: the multipart fields that carry a file; the others are plain form fields.
        joined_query: query parameters whose lists are sent comma-separated in one pair
            (``explode: false`` in the spec) rather than as repeated pairs.
        empty_body: send ``{}`` when no body field is given (the body is required).
        authenticated: whether the call needs the secret key.
        deprecated: emit a ``DeprecationWarning`` on every call.
        items_key: for a list operation whose answer is an object, the key of its item
            array (see :mod:`clerk_async._pagination`).
    """

    name: str
    method: str
    path: str
    response: type[T] | None = None
    body: Literal["json", "multipart"] | None = None
    files: tuple[str, ...] = ()
    joined_query: tuple[str, ...] = ()
    empty_body: bool = False
    authenticated: bool = True
    deprecated: bool = False
    items_key: str = "data"
    path_params: tuple[str, ...] = field(init=False, repr=False)
    _path_format: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(_PLACEHOLDER.findall(self.path)))
        object.__setattr__(self, "_path_format", _PLACEHOLDER.sub("{}", self.path))

    @cached_property
    def decoder(self) -> msgspec.json.Decoder[T]:
        """Built on first use: building it resolves the model's annotations."""
        return msgspec.json.Decoder(self.response)

    @property
    def endpoint(self) -> str:
        """The method and path template, such as ``GET /users/{user_id}``: the unit Clerk
        rate-limits by, and the scope of the client's 429 gate."""
        return f"{self.method} {self.path}"

    def warn_deprecated(self, stacklevel: int) -> None:
        """Warn that this operation is deprecated, at ``stacklevel`` frames above the caller."""
        warnings.warn(
            f"{self.name} is deprecated by Clerk and may be removed; see its docstring",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )

    def format_path(self, values: Sequence[object]) -> str:
        """The path with each value percent-encoded into exactly its own segment.

        Raises:
            TypeError: a value is not a ``str``.
            ValueError: a value is empty, ``.`` or ``..``, or becomes one once
                percent-decoded: such a value would address another resource.
        """
        return self._path_format.format(
            *(
                _segment(self.name, name, value)
                for name, value in zip(self.path_params, values, strict=True)
            )
        )


def _segment(operation: str, name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{operation}: {name} must be a str, not {type(value).__name__}")
    decoded = value
    for _ in range(_DECODE_ROUNDS):
        if decoded in _DOT_SEGMENTS:
            break
        decoded, previous = unquote(decoded), decoded
        if decoded == previous:
            break
    if decoded in _DOT_SEGMENTS:
        shown = "empty" if not value else repr(value)
        raise ValueError(
            f"{operation}: {name} is {shown}, which would address another resource;"
            " pass the id of the object to act on"
        )
    # Every byte outside the unreserved set is encoded, "/", "%", "?", "#" included, so the
    # value can never leave its segment or be decoded into a dot segment by a server.
    return quote(value, safe="")
