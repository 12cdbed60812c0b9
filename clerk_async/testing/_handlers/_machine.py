"""Machine authentication: API keys, M2M tokens and OAuth access tokens, and their verify
routes (what ``authenticate_request`` calls for ``ak_``, ``mt_`` and ``oat_`` tokens).

Like Clerk, a secret that was never issued answers 404; a revoked or expired one answers 200
with ``revoked`` or ``expired`` set, which the SDK turns into a signed-out request.
"""

from __future__ import annotations

from aiohttp import web

from .._params import json_body, required
from .._store import JSON, Store
from ._base import Route, json

__all__ = ["MachineHandlers", "render_machine_token"]

_OBJECTS = {
    "api_key": "api_key",
    "m2m_token": "machine_to_machine_token",
    "oauth_token": "clerk_idp_oauth_access_token",
}


def render_machine_token(record: JSON, now: int, *, secret: str | None = None) -> JSON:
    """A token record in the verify answer's shape of its kind."""
    kind = record["kind"]
    answer: JSON = {
        "object": _OBJECTS[kind],
        "id": record["id"],
        "subject": record["subject"],
        "scopes": record["scopes"],
        "revoked": record["revoked"],
        "revocation_reason": record["revocation_reason"],
        "expired": record["expiration"] is not None and record["expiration"] <= now,
        "expiration": record["expiration"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    if kind == "oauth_token":
        answer["client_id"] = record["client_id"]
        return answer
    answer["claims"] = record["claims"]
    answer["last_used_at"] = record["last_used_at"]
    if kind == "api_key":
        answer.update(
            type="api_key",
            name=record["name"] or "",
            description=None,
            created_by=None,
        )
        if secret is not None:
            answer["secret"] = secret
    return answer


class MachineHandlers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def routes(self) -> list[Route]:
        return [
            Route("api_keys.create", self._create_api_key),
            Route("api_keys.revoke", self._revoke_api_key),
            Route("api_keys.verify", self._verify_api_key),
            Route("m2m.revoke_token", self._revoke_m2m_token),
            Route("m2m.verify_token", self._verify_m2m_token),
            Route("oauth_access_tokens.verify", self._verify_oauth_token),
        ]

    def _answer(self, kind: str, secret: str) -> web.Response:
        record = self.store.machine_token(kind, secret)
        return json(render_machine_token(record, self.store.tick()))

    async def _create_api_key(self, request: web.Request) -> web.Response:
        body = await json_body(request, "api_keys.create")
        secret, record = self.store.new_machine_token(
            "api_key",
            required(body, "subject"),
            scopes=body.get("scopes") or (),
            claims=body.get("claims"),
            name=required(body, "name"),
            expires_in=body.get("seconds_until_expiration"),
        )
        return json(render_machine_token(record, record["created_at"], secret=secret))

    async def _revoke_api_key(self, request: web.Request) -> web.Response:
        body = await json_body(request, "api_keys.revoke")
        record = self.store.revoke_machine_token(
            request.match_info["apiKeyID"], body.get("revocation_reason")
        )
        return json(render_machine_token(record, self.store.tick()))

    async def _revoke_m2m_token(self, request: web.Request) -> web.Response:
        body = await json_body(request, "m2m.revoke_token")
        record = self.store.revoke_machine_token(
            request.match_info["m2m_token_id"], body.get("revocation_reason")
        )
        return json(render_machine_token(record, self.store.tick()))

    async def _verify_api_key(self, request: web.Request) -> web.Response:
        body = await json_body(request, "api_keys.verify")
        return self._answer("api_key", required(body, "secret"))

    async def _verify_m2m_token(self, request: web.Request) -> web.Response:
        body = await json_body(request, "m2m.verify_token")
        return self._answer("m2m_token", required(body, "token"))

    async def _verify_oauth_token(self, request: web.Request) -> web.Response:
        body = await json_body(request, "oauth_access_tokens.verify")
        return self._answer("oauth_token", body.get("access_token") or required(body, "secret"))
