"""Which operations the fake models, where each one lives, and what to say about the rest."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from aiohttp import web

from ._handlers._base import Route
from ._spec_tables import OPERATIONS

__all__ = ["ModelledRoute", "add_routes", "resolve", "unmodelled_message"]

ModelledRoute = tuple[str, str, str]  # (HTTP method, path template, SDK operation name)


@cache
def _by_name() -> dict[str, tuple[str, str]]:
    return {name: (method, path) for method, path, name in OPERATIONS}


@cache
def _patterns() -> list[tuple[str, re.Pattern[str], str, str]]:
    return [
        (method, re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path, name)
        for method, path, name in OPERATIONS
    ]


def _specificity(route: ModelledRoute) -> list[tuple[bool, str]]:
    # A literal segment must be tried before a parameter at the same depth, or
    # "/users/count" would be taken for the user with the id "count".
    return [(part.startswith("{"), part) for part in route[1].split("/")]


def resolve(routes: Iterable[Route]) -> list[tuple[ModelledRoute, Route]]:
    """Each route with its method and path from the spec, literal segments first."""
    table = _by_name()
    resolved = []
    for route in routes:
        if route.operation not in table:
            raise LookupError(f"{route.operation} is not an operation of the vendored spec")
        method, path = table[route.operation]
        resolved.append(((method, path, route.operation), route))
    return sorted(resolved, key=lambda item: _specificity(item[0]))


def add_routes(app: web.Application, routes: Iterable[Route]) -> list[ModelledRoute]:
    """Register ``routes`` under ``/v1``; returns what was modelled, in matching order."""
    modelled = []
    for entry, route in resolve(routes):
        method, path, _ = entry
        app.router.add_route(method, "/v1" + path, route.handler)
        modelled.append(entry)
    return modelled


def unmodelled_message(method: str, path: str) -> str:
    """Why a request reached no handler: the operation it names, or that none exists."""
    for op_method, pattern, template, name in _patterns():
        if op_method == method and pattern.match(path):
            return (
                f"FakeClerk does not model {name} ({method} /v1{template}); see docs/testing.md"
                " for the operations it does model."
            )
    return f"{method} {path} is not an operation of Clerk's Backend API (nor of FakeClerk)."
