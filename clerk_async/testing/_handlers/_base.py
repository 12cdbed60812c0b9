"""What every resource's handlers share: the route type, JSON answers, metadata merging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from .._store import JSON

__all__ = [
    "Handler",
    "Route",
    "deep_merge",
    "json",
    "merge_metadata",
    "replace_metadata",
    "sorted_records",
    "strip_nulls",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One modelled operation: its SDK name (``users.get``) and the coroutine answering it.

    The HTTP method and path come from the spec's operation index, so they cannot drift.
    """

    operation: str
    handler: Handler


_encode = msgspec.json.Encoder().encode


def json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=_encode(payload), status=status, content_type="application/json")


def sorted_records(records: list[JSON], key: Callable[[JSON], Any], descending: bool) -> list[JSON]:
    """Sort by ``key``, records without a value last in either direction, ties by creation."""
    present = [r for r in records if key(r) is not None]
    missing = [r for r in records if key(r) is None]
    present.sort(key=key, reverse=descending)
    return present + missing


def merge_metadata(record: JSON, body: JSON) -> None:
    """PATCH .../metadata: each given metadata object is deep-merged into the stored one."""
    for name, patch in body.items():
        record[name] = deep_merge(record[name] or {}, patch)


def replace_metadata(record: JSON, body: JSON) -> None:
    """PUT .../metadata: each given metadata object replaces the stored one."""
    for name, value in body.items():
        record[name] = strip_nulls(value)


def deep_merge(base: JSON, patch: JSON) -> JSON:
    """Clerk's metadata merge: objects merge key by key at every depth; null removes a key."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            current = merged.get(key)
            merged[key] = deep_merge(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def strip_nulls(value: JSON) -> JSON:
    """Metadata as stored: keys set to null are dropped, at every depth."""
    return deep_merge({}, value)
