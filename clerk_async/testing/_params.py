"""Reading a request the way Clerk does: typed JSON bodies and query parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from aiohttp import web
from multidict import MultiMapping

from ._reject import Reject
from ._spec_tables import BODY_FIELDS
from ._store import JSON

__all__ = [
    "bool_param",
    "flag",
    "include_exclude",
    "int_param",
    "json_body",
    "order",
    "page",
    "required",
]

_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "strings": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


async def json_body(request: web.Request, operation: str) -> JSON:
    """The JSON object body, checked against the spec's fields for ``operation``.

    An empty body counts as ``{}``. An unknown field is a 422 ``form_param_unknown``, which is
    how Clerk answers a misspelt or removed field.
    """
    fields = BODY_FIELDS[operation]
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise Reject(
            400,
            "request_body_invalid",
            "Request body invalid",
            f"Expected an application/json body, got {request.content_type!r}.",
        )
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise Reject(
            400, "request_body_invalid", "Request body invalid", f"Malformed JSON: {exc}"
        ) from None
    if not isinstance(body, dict):
        raise Reject(400, "request_body_invalid", "Request body invalid", "Expected a JSON object.")
    for name, value in body.items():
        _check_field(fields, name, value)
    return body


def _check_field(fields: Any, name: str, value: Any) -> None:
    kind = fields.get(name)
    if kind is None:
        raise Reject(
            422,
            "form_param_unknown",
            "is unknown",
            f"{name} is not a valid parameter for this request.",
            param=name,
        )
    if value is None:
        if not kind.endswith("?"):
            raise Reject(
                422, "form_param_nil", "must not be null", f"{name} must not be null.", param=name
            )
    elif not _KIND_CHECKS[kind.rstrip("?")](value):
        raise Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be of type {kind.rstrip('?')}.",
            param=name,
        )


def required(body: JSON, name: str) -> Any:
    """A field the operation cannot do without."""
    value = body.get(name)
    if value is None or value == "":
        raise Reject(422, "form_param_missing", "is missing", f"{name} is required.", param=name)
    return value


def order(query: MultiMapping[str], default: str, fields: Iterable[str]) -> tuple[str, bool]:
    raw = query.get("order_by") or default  # Clerk keeps only the first order_by
    field = raw.lstrip("+-")
    if field not in fields:
        raise Reject(
            422,
            "form_param_value_invalid",
            "is invalid",
            f"order_by cannot be {raw!r}; use one of {', '.join(sorted(fields))}, optionally"
            " prefixed with + or -.",
            param="order_by",
        )
    return field, raw.startswith("-")


def int_param(
    query: MultiMapping[str], name: str, default: int, minimum: int | None, maximum: int | None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be an integer.",
            param=name,
        ) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = (
            f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        )
        raise Reject(
            422, "form_param_value_invalid", "is invalid", f"{name} must be {bounds}.", param=name
        )
    return value


def bool_param(query: MultiMapping[str], name: str) -> bool:
    raw = query.get(name, "").lower()
    if raw not in ("true", "false"):
        raise Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be true or false.",
            param=name,
        )
    return raw == "true"


def flag(body: JSON, name: str, default: bool) -> bool:
    value = body.get(name)
    return default if value is None else bool(value)


def include_exclude(values: list[str]) -> Callable[[str | None], bool] | None:
    """Clerk's ``+id``/``-id`` lists: keep the included (all when none are), drop the excluded."""
    if not values:
        return None
    include = {v.removeprefix("+") for v in values if not v.startswith("-")}
    exclude = {v[1:] for v in values if v.startswith("-")}

    def selected(value: str | None) -> bool:
        return (not include or value in include) and value not in exclude

    return selected


def page(query: MultiMapping[str], records: list[JSON]) -> list[JSON]:
    """The ``limit``/``offset`` slice of ``records``."""
    limit = int_param(query, "limit", 10, 1, 500)
    offset = int_param(query, "offset", 0, 0, None)
    return records[offset : offset + limit]
