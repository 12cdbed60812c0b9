"""Starlette glue: an ASGI middleware that authenticates every HTTP request and puts the result
on ``request.state.auth`` (an :class:`~clerk_async.auth.Auth`) and
``request.state.clerk_request`` (the :class:`~clerk_async.auth.RequestState`, with the reason
a request is signed out); and `verified_webhook` for webhook endpoints."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ._failures import UNAVAILABLE_DETAIL, is_infrastructure_failure, report_infrastructure_failure
from ._webhooks import verified_webhook

if TYPE_CHECKING:
    from .._client import AsyncClerk
    from ..auth._machine_cache import MachineTokenCache
    from ..auth._request import AcceptsToken

__all__ = ["ClerkAuthMiddleware", "verified_webhook"]


class ClerkAuthMiddleware:
    """Authenticate HTTP requests with ``clerk.authenticate_request``.

    Signed-out requests reach the app with ``request.state.auth.is_authenticated`` False,
    unless ``require_auth`` is set, in which case they are answered 401 with the reason.
    WebSocket and lifespan events pass through untouched.

    When no token can be checked at all (the JWKS cannot be loaded, Clerk is unreachable),
    the cause is logged at WARNING and, with ``require_auth``, the request is answered
    ``infrastructure_failure_status`` (503 by default; 401 treats it as signed out).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        clerk: AsyncClerk,
        authorized_parties: Collection[str] | None = None,
        accepts_token: AcceptsToken = "session_token",
        jwt_key: str | None = None,
        treat_pending_as_signed_out: bool = True,
        require_auth: bool = False,
        infrastructure_failure_status: int = 503,
        machine_token_cache: MachineTokenCache | None = None,
    ) -> None:
        self.app = app
        self.clerk = clerk
        self.options: dict[str, Any] = {
            "authorized_parties": authorized_parties,
            "accepts_token": accepts_token,
            "jwt_key": jwt_key,
            "treat_pending_as_signed_out": treat_pending_as_signed_out,
            "machine_token_cache": machine_token_cache,
        }
        self.require_auth = require_auth
        self.infrastructure_failure_status = infrastructure_failure_status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = await self.clerk.authenticate_request(request, **self.options)
        unavailable = is_infrastructure_failure(state)
        if unavailable:
            report_infrastructure_failure(state, request.url.path)
        if self.require_auth and unavailable and self.infrastructure_failure_status != 401:
            response = JSONResponse(
                {"detail": UNAVAILABLE_DETAIL}, status_code=self.infrastructure_failure_status
            )
            await response(scope, receive, send)
            return
        if self.require_auth and not state.is_signed_in:
            response = JSONResponse(
                {"detail": state.reason},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        # Request.state reads scope["state"], so the app's handlers see these attributes.
        scope_state = scope.setdefault("state", {})
        scope_state["auth"] = state.to_auth()
        scope_state["clerk_request"] = state
        await self.app(scope, receive, send)
