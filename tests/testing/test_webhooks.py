"""sign_webhook and FakeClerk.send_webhook, checked by our verifier and by `standardwebhooks`."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from clerk_async.testing import FakeClerk, sign_webhook
from clerk_async.webhooks import UserCreatedEvent, WebhookVerificationError, verify_webhook

from .._support import serve

EVENT = {"object": "event", "type": "user.created", "data": {"object": "user", "id": "user_1"}}


@pytest.mark.parametrize(
    "payload", [EVENT, json.dumps(EVENT), json.dumps(EVENT).encode()], ids=type
)
def test_signed_payloads_verify_with_both_implementations(payload: Any) -> None:
    secret = FakeClerk().webhook_secret
    body, headers = sign_webhook(payload, secret, msg_id="msg_1", timestamp=int(time.time()))
    assert json.loads(body) == EVENT
    assert headers["svix-id"] == "msg_1"
    event = verify_webhook(body, headers, secret=secret)
    assert isinstance(event, UserCreatedEvent) and event.data.id == "user_1"
    standard_headers = {k.replace("svix-", "webhook-"): v for k, v in headers.items()}
    assert Webhook(secret).verify(body, standard_headers) == EVENT


def test_stale_tampered_or_wrongly_keyed_deliveries_are_refused() -> None:
    secret, other = FakeClerk().webhook_secret, FakeClerk().webhook_secret
    assert secret != other and secret.startswith("whsec_")
    body, headers = sign_webhook(EVENT, secret, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="ago"):
        verify_webhook(body, headers, secret=secret)
    body, headers = sign_webhook(EVENT, secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body.replace(b"user_1", b"user_2"), headers, secret=secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, secret=other)
    with pytest.raises(ValueError, match="whsec_"):
        sign_webhook(EVENT, "whsec_not base64!")


async def test_send_webhook_delivers_what_clerk_would() -> None:
    received: list[tuple[bytes, dict[str, str]]] = []
    fake = FakeClerk()

    async def endpoint(request: web.Request) -> web.Response:
        body = await request.read()
        received.append((body, dict(request.headers)))
        try:
            event = verify_webhook(body, request.headers, secret=fake.webhook_secret)
        except WebhookVerificationError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"type": event.type})

    app = web.Application()
    app.router.add_post("/hooks", endpoint)
    async with serve(app) as url:
        delivery = await fake.send_webhook(f"{url}/hooks", "user.created", {"id": "user_9"})
        assert (delivery.status, delivery.json()) == (200, {"type": "user.created"})
        body, headers = received[0]
        assert body == delivery.payload
        assert headers["svix-id"] == delivery.msg_id
        assert headers["Content-Type"] == "application/json"
        event = json.loads(body)
        assert (event["object"], event["type"], event["data"]) == (
            "event",
            "user.created",
            {"id": "user_9"},
        )

        stale = await fake.send_webhook(
            f"{url}/hooks", "user.deleted", {"id": "u"}, timestamp=int(time.time()) - 3600
        )
        assert stale.status == 400
