"""Shared fixtures: a real aiohttp server on 127.0.0.1 that records requests and plays Clerk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from clerk_async import AsyncClerk

from ._support import serve

SECRET = "sk_test_conftestsecretvalue123"


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """Answers every request with the reply set for its path (or 200 `{}`), and records it."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: dict[str, Callable[[web.Request], web.StreamResponse]] = field(default_factory=dict)

    def reply(self, path: str, body: Any = None, *, status: int = 200, raw: bytes | None = None,
              headers: dict[str, str] | None = None) -> None:
        def respond(_: web.Request) -> web.StreamResponse:
            if raw is not None:
                return web.Response(body=raw, status=status, headers=headers)
            if status == 204:
                return web.Response(status=204, headers=headers)
            return web.json_response(body, status=status, headers=headers)

        self.replies[path] = respond

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    state = RecordingServer()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.requests.append(
            Recorded(
                method=request.method,
                path=request.raw_path.split("?", 1)[0],
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=body,
                content_type=request.content_type,
            )
        )
        respond = state.replies.get(request.path)
        return respond(request) if respond else web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serve(app) as url:
        state.url = f"{url}/v1"
        yield state


@pytest.fixture
async def clerk(server: RecordingServer) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(SECRET, server_url=server.url, retry=False) as client:
        yield client
