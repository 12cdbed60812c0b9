"""Signing webhook deliveries the way Clerk's sender (Svix) does, to test a receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ["new_webhook_secret", "sign_webhook"]

_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A fresh ``whsec_`` signing secret (32 random bytes, base64)."""
    return _PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign_webhook(
    payload: bytes | str | Mapping[str, Any],
    secret: str,
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and ``svix-*`` headers of a delivery of ``payload`` signed with ``secret``.

    ::

        body, headers = sign_webhook({"type": "user.created", "data": {...}}, secret)
        response = await http.post("/webhooks/clerk", content=body, headers=headers)

    Args:
        payload: the event, as the exact bytes or text to send, or a mapping encoded as JSON.
        secret: the endpoint's ``whsec_…`` signing secret (for example ``fake.webhook_secret``).
        msg_id: the ``svix-id`` (a fresh ``msg_…`` id when omitted).
        timestamp: the ``svix-timestamp`` in Unix seconds (now when omitted); pass an old
            one to test that a receiver refuses stale deliveries.

    Raises:
        ValueError: when ``secret`` is not base64 after its ``whsec_`` prefix.
    """
    if isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = msgspec.json.encode(payload)
    try:
        key = base64.b64decode(secret.removeprefix(_PREFIX), validate=True)
    except ValueError:
        raise ValueError("the webhook secret must be 'whsec_' followed by base64") from None
    msg_id = msg_id or "msg_" + secrets.token_hex(12)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    headers = {"svix-id": msg_id, "svix-timestamp": stamp, "svix-signature": f"v1,{signature}"}
    return body, headers
