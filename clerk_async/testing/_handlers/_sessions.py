"""Sessions: create, list, get, revoke, and session tokens signed by the fake's key."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from .._params import bool_param, json_body, page, required
from .._reject import Reject
from .._store import Store
from ._base import Route, json

__all__ = ["SessionHandlers"]

# Signs a session token: (session, lifetime in seconds) -> JWT.
Mint = Callable[[dict[str, object], int], str]


class SessionHandlers:
    def __init__(self, store: Store, mint: Mint) -> None:
        self.store = store
        self.mint = mint

    def routes(self) -> list[Route]:
        return [
            Route("sessions.list", self._list),
            Route("sessions.create", self._create),
            Route("sessions.get", self._get),
            Route("sessions.revoke", self._revoke),
            Route("sessions.create_token", self._create_token),
        ]

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        user_id, client_id = query.get("user_id"), query.get("client_id")
        if not user_id and not client_id:
            raise Reject(
                422,
                "form_param_missing",
                "is missing",
                "Either user_id or client_id is required to list sessions.",
                param="user_id",
            )
        status = query.get("status")
        sessions = [
            s
            for s in self.store.sessions.values()
            if (not user_id or s["user_id"] == user_id)
            and (not client_id or s["client_id"] == client_id)
            and (not status or s["status"] == status)
        ][::-1]
        chosen = page(query, sessions)
        if "paginated" in query and bool_param(query, "paginated"):
            return json({"data": chosen, "total_count": len(sessions)})
        return json(chosen)

    async def _create(self, request: web.Request) -> web.Response:
        body = await json_body(request, "sessions.create")
        user = self.store.user(required(body, "user_id"))
        org_id = body.get("active_organization_id")
        if org_id is not None:
            self.store.membership(self.store.organization(org_id)["id"], user["id"])
        return json(self.store.new_session(user["id"], org_id=org_id))

    async def _get(self, request: web.Request) -> web.Response:
        return json(self.store.session(request.match_info["session_id"]))

    async def _revoke(self, request: web.Request) -> web.Response:
        session = self.store.session(request.match_info["session_id"])
        session["status"] = "revoked"
        return json(self.store.touch(session))

    async def _create_token(self, request: web.Request) -> web.Response:
        session = self.store.session(request.match_info["session_id"])
        body = await json_body(request, "sessions.create_token")
        if session["status"] != "active":
            raise Reject(
                404,
                "resource_not_found",
                "not found",
                f"Session {session['id']} is {session['status']}; only active sessions get tokens.",
            )
        lifetime = body.get("expires_in_seconds")
        if lifetime is None:
            lifetime = 60
        if lifetime < 1:
            raise Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                "expires_in_seconds must be at least 1.",
                param="expires_in_seconds",
            )
        return json({"object": "token", "jwt": self.mint(session, lifetime)})
