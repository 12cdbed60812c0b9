"""A scripted aiohttp server on 127.0.0.1 that fails in the ways a real network and Clerk do.

Each test queues the answers for the next requests (``server.script(...)``) and sets what comes
after them (``server.otherwise``). Every request is recorded with the monotonic time it arrived,
so a test can count the attempts the server really saw and measure the waits between them.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import pairwise

from aiohttp import web

from .._support import user_json

Action = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECRET = "sk_test_retrysuite0123456789abcdefghijklmnop"
USER_ID = "user_2RetrySuiteUser000000001"

_ERROR_BODY = {"errors": [{"code": "too_many_requests", "message": "Too many requests"}]}


def user_body(user_id: str = USER_ID) -> bytes:
    """A user as Clerk sends it, with every field the spec's ``User`` schema requires."""
    return json.dumps(user_json(user_id)).encode()


_USER = user_body()


def ok(body: bytes = _USER) -> Action:
    async def action(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return action


def status(
    code: int,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Action:
    """An error answer; Clerk's JSON error body unless another ``body`` is given."""
    if body is None:
        message = {"errors": [{"code": f"http_{code}", "message": f"failed with {code}"}]}
        body = json.dumps(message).encode()

    async def action(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, body=body, headers=headers, content_type=content_type)

    return action


def rate_limited(**headers: str) -> Action:
    """429 with Clerk's error body; keyword names become headers (``retry_after_ms`` →
    ``retry-after-ms``)."""
    return status(
        429,
        body=json.dumps(_ERROR_BODY).encode(),
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )


HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>"
    b"</body></html>\n"
)


def html_502() -> Action:
    return status(502, body=HTML_502, content_type="text/html")


def drop() -> Action:
    """Read the request, then close the connection without answering."""

    async def action(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()  # written to a closed transport: nothing reaches the client

    return action


def reset_mid_body() -> Action:
    """Send the status, the headers with a Content-Length and part of the body, then close."""

    async def action(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(_USER)
        await response.prepare(request)
        await response.write(_USER[:40])
        assert request.transport is not None
        request.transport.close()
        return response

    return action


TRUNCATED = _USER[: len(_USER) // 2]


def truncated_json() -> Action:
    """A complete 200 answer whose body is only the first half of a user's JSON."""
    return ok(TRUNCATED)


def stall(seconds: float = 30.0) -> Action:
    """Answer nothing for a long time. The handler is cancelled when the client hangs up."""

    async def action(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(body=_USER, content_type="application/json")

    return action


@dataclass
class Hit:
    method: str
    path: str
    at: float


@dataclass
class Flaky429:
    """Answers 429 (``Retry-After: 0``) to a seeded random share of requests, 200 otherwise."""

    share: float = 0.3
    seed: int = 20260512
    ok_count: int = 0
    limited_count: int = 0
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self._random.random() < self.share:
            self.limited_count += 1
            return web.Response(
                status=429,
                body=b'{"errors":[{"code":"too_many_requests","message":"slow down"}]}',
                headers={"Retry-After": "0"},
                content_type="application/json",
            )
        self.ok_count += 1
        return web.Response(body=_USER, content_type="application/json")


class FlakyServer:
    """The server: plays the scripted actions in order, then ``otherwise`` for every request."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.otherwise: Action = ok()
        self._script: deque[Action] = deque()
        self._arrival = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, *actions: Action) -> None:
        self._script.extend(actions)

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests, as the server saw them."""
        return [later.at - earlier.at for earlier, later in pairwise(self.hits)]

    async def wait_for_hits(self, count: int) -> None:
        """Return once the server has received ``count`` requests in all."""
        while len(self.hits) < count:
            self._arrival.clear()
            await self._arrival.wait()

    @property
    def open_connections(self) -> int:
        assert self._runner is not None and self._runner.server is not None
        return len(self._runner.server.connections)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(Hit(request.method, request.path, time.monotonic()))
        self._arrival.set()
        await request.read()
        action = self._script.popleft() if self._script else self.otherwise
        return await action(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Cancel a stalled handler as soon as its client hangs up, and do not wait for
        # handlers on shutdown, so a stall never outlives its test.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
