"""Deliveries signed by the `standardwebhooks` package: an implementation independent of ours."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timezone
from typing import Any

from standardwebhooks import Webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def sign(
    secret: str,
    body: str,
    *,
    msg_id: str = "msg_2abc",
    timestamp: int | None = None,
    prefix: str = "svix",
) -> dict[str, str]:
    """The headers Svix would send with ``body``, signed at ``timestamp`` (default: now)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, tz=timezone.utc), body)
    return {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(stamp),
        f"{prefix}-signature": signature,
    }


def event_body(event_type: str = "user.deleted", **data: Any) -> str:
    payload = {
        "object": "event",
        "type": event_type,
        "instance_id": "ins_2abc",
        "timestamp": 1716883200,
        "data": {"object": "user", "id": "user_2abc", "deleted": True, **data},
    }
    return json.dumps(payload)
