"""A local stand-in for Clerk that enforces a rate limit, for the rate limit benchmark.

Run as ``python benchmarks/_ratelimited_server.py --requests 200 --window 1`` it binds an
aiohttp server to 127.0.0.1 on a free port, prints ``PORT <n>`` and serves until terminated:

- ``GET /v1/users/{user_id}`` answers one of ``_server``'s users (or a Clerk-style 404) while
  the current fixed window has admitted fewer than ``--requests``; after that it answers 429
  with Clerk's error body and ``Retry-After`` in whole seconds (at least 1) until the block
  ends. The block lasts until the window ends or, with ``--penalty S``, S seconds from the
  first refusal if that is later (as Clerk blocks an endpoint for the wait it names).
- ``GET /_stats`` answers ``{"attempts", "ok", "limited", "windows_limited"}``;
- ``POST /_reset`` zeroes the counts and starts a new window now, so each benchmark row
  meets the same server.

Windows are counted from the server's start (or the last reset), as a fixed-window limiter
does; a client cannot see where they begin.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server  # a sibling module, importable once its folder is on the path

if TYPE_CHECKING:
    from aiohttp import web

RATE_LIMITED = json.dumps(
    {
        "errors": [
            {
                "message": "Too many requests",
                "long_message": "Too many requests, please try again later.",
                "code": "too_many_requests",
            }
        ],
        "clerk_trace_id": "benchmark",
    },
    separators=(",", ":"),
).encode()


@dataclass
class Stats:
    attempts: int = 0
    ok: int = 0
    limited: int = 0
    windows_limited: int = 0


class FixedWindowLimit:
    """``requests`` per fixed window of ``window`` seconds; then blocked until the window
    ends, or ``penalty`` seconds after the first refusal if that is later."""

    def __init__(self, requests: int, window: float, penalty: float) -> None:
        self.requests, self.window, self.penalty = requests, window, penalty
        self.stats = Stats()
        self.reset()

    def reset(self) -> None:
        self.stats = Stats()
        self._start = time.monotonic()
        self._index = 0
        self._admitted = 0
        self._blocked_until = 0.0

    def retry_after(self) -> int | None:
        """None to admit one request now, else the whole seconds to ask the client to wait."""
        now = time.monotonic()
        self.stats.attempts += 1
        index = int((now - self._start) // self.window)
        if index != self._index:
            self._index, self._admitted = index, 0
        if now >= self._blocked_until and self._admitted < self.requests:
            self._admitted += 1
            self.stats.ok += 1
            return None
        if now >= self._blocked_until:  # the first refusal of this window
            self.stats.windows_limited += 1
            window_end = self._start + (index + 1) * self.window
            self._blocked_until = max(window_end, now + self.penalty)
        self.stats.limited += 1
        return max(math.ceil(self._blocked_until - now), 1)


def main() -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="admitted per window")
    parser.add_argument("--window", type=float, default=1.0, help="window length, seconds")
    parser.add_argument(
        "--penalty",
        type=float,
        default=0.0,
        help="block at least this long after the first refusal, seconds",
    )
    options = parser.parse_args()
    limit = FixedWindowLimit(options.requests, options.window, options.penalty)

    by_id = {
        user["id"]: json.dumps(user, separators=(",", ":")).encode()
        for user in _server.make_users()
    }
    expected_auth = "Bearer " + _server.SECRET_KEY
    unauthorized = (
        b'{"errors":[{"message":"Invalid authentication","code":"authentication_invalid"}]}'
    )
    not_found = b'{"errors":[{"message":"not found","code":"resource_not_found"}]}'

    def reply(
        body: bytes, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    async def get_user(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected_auth:
            return reply(unauthorized, 401)
        wait = limit.retry_after()
        if wait is not None:
            return reply(RATE_LIMITED, 429, {"Retry-After": str(wait)})
        body = by_id.get(request.match_info["user_id"])
        return reply(body) if body is not None else reply(not_found, 404)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(asdict(limit.stats))

    async def reset(_: web.Request) -> web.Response:
        limit.reset()
        return web.json_response(asdict(limit.stats))

    app = web.Application()
    app.router.add_get("/v1/users/{user_id}", get_user)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/_reset", reset)
    _server.run(app)


if __name__ == "__main__":
    main()
