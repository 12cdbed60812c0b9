"""Receiving webhooks in FastAPI or Starlette: read the raw body, verify, answer 400 if refused.

Needs Starlette (which FastAPI brings).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request

from .._errors import WebhookVerificationError
from ..webhooks._events import Event
from ..webhooks._verify import DEFAULT_TOLERANCE, WebhookVerifier

__all__ = ["verified_webhook"]

# Refusals caused by the receiver's own configuration, not by the delivery.
_RECEIVER_FAULTS = frozenset({"missing_secret", "invalid_secret"})


def verified_webhook(
    secret: str | bytes | None = None, *, tolerance: float = DEFAULT_TOLERANCE
) -> Callable[[Request], Awaitable[Event]]:
    """A FastAPI dependency (or plain coroutine function) yielding the verified, typed event.

    ::

        @app.post("/webhooks/clerk")
        async def clerk_webhook(event: Annotated[Event, Depends(verified_webhook())]) -> None:
            ...

    In Starlette, call it yourself: ``event = await receive(request)`` with
    ``receive = verified_webhook()``.

    A delivery that fails verification gets a 400 whose detail is the refusal's message
    (it never contains the secret). A missing or malformed signing secret is the receiver's
    fault, so it answers 500 instead, and Svix keeps retrying until the secret is fixed.

    Args:
        secret: the ``whsec_…`` signing secret. When omitted, ``CLERK_WEBHOOK_SIGNING_SECRET``
            is read on each request, so the variable may be set after the app is built.
        tolerance: the accepted clock difference in seconds; see `verify_webhook`.

    Raises:
        WebhookVerificationError: at once, if ``secret`` is given but malformed.
    """
    fixed = WebhookVerifier(secret, tolerance=tolerance) if secret is not None else None

    async def receive(request: Request) -> Event:
        body = await request.body()
        try:
            verifier = fixed or WebhookVerifier(tolerance=tolerance)
            return verifier.verify(body, request.headers)
        except WebhookVerificationError as exc:
            if exc.reason in _RECEIVER_FAULTS:
                raise HTTPException(
                    500, "the webhook receiver has no usable signing secret"
                ) from exc
            raise HTTPException(400, str(exc)) from exc

    return receive
