"""The FastAPI example, served by uvicorn on 127.0.0.1, receiving deliveries over real HTTP."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ..integrations._serving import serve_asgi
from ._signing import event_body, new_secret, sign

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"
SECRET = new_secret()


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def receiver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The example app's webhook URL, served until the test ends."""
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    async with serve_asgi(load_example().app) as url:
        yield f"{url}/webhooks/clerk"


async def post(url: str, body: str | bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
        url, data=body, headers={"content-type": "application/json", **headers}
    ) as response:
        return response.status, await response.json()


async def test_signed_deliveries_are_accepted_and_typed(receiver: str) -> None:
    body = json.dumps({
        "object": "event", "type": "user.created", "instance_id": "ins_1", "timestamp": 1,
        "data": {"object": "user", "id": "user_2new", "first_name": "Ada"},
    })
    assert await post(receiver, body, sign(SECRET, body)) == (
        200, {"received": "user.created", "subject": "user_2new"}
    )

    deleted = event_body(id="user_2gone")
    assert await post(receiver, deleted.encode(), sign(SECRET, deleted, prefix="webhook")) == (
        200, {"received": "user.deleted", "subject": "user_2gone"}
    )


async def test_unknown_event_types_are_acknowledged(receiver: str) -> None:
    body = json.dumps({"object": "event", "type": "agent.created", "data": {"id": "agt_1"}})
    assert await post(receiver, body, sign(SECRET, body)) == (
        200, {"received": "agent.created", "subject": None}
    )


async def test_forged_deliveries_get_400(receiver: str) -> None:
    body = event_body()
    forged = sign(new_secret(), body)
    status, answer = await post(receiver, body, forged)
    assert status == 400
    assert "no v1 signature" in answer["detail"]

    tampered = event_body(id="user_2victim")
    status, _ = await post(receiver, tampered, sign(SECRET, body))
    assert status == 400

    stale = sign(SECRET, body, timestamp=int(time.time()) - 3600)
    status, answer = await post(receiver, body, stale)
    assert (status, "ago" in answer["detail"]) == (400, True)

    status, answer = await post(receiver, body, {})
    assert status == 400
    assert "svix-id" in answer["detail"]
    assert SECRET not in json.dumps(answer)


async def test_a_receiver_without_a_secret_answers_500(
    receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = event_body()
    headers = sign(SECRET, body)
    monkeypatch.delenv("CLERK_WEBHOOK_SIGNING_SECRET")
    status, answer = await post(receiver, body, headers)
    assert status == 500
    assert "signing secret" in answer["detail"]
