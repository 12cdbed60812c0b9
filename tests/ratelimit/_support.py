"""Helpers of the rate limit tests: window counting, a fixed-window server, a Redis server."""

from __future__ import annotations

import bisect
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

RATE_LIMITED = {
    "errors": [
        {
            "message": "Too Many Requests",
            "long_message": "You have exceeded the rate limit; retry after the given time",
            "code": "too_many_requests",
        }
    ]
}


def busiest_window(times: Sequence[float], per: float) -> int:
    """The most events any half-open window ``[t, t + per)`` holds."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + per) - index for index, start in enumerate(ordered)),
        default=0,
    )


@dataclass
class FixedWindow:
    """Counts of a server admitting ``requests`` per fixed window of ``window`` seconds."""

    requests: int
    window: float
    admitted: int = 0
    refused: int = 0


def fixed_window_app(limit: FixedWindow) -> web.Application:
    """``GET /v1/ping``: 200 while the current window has room, else 429 with Retry-After."""
    started = time.monotonic()
    counts: dict[int, int] = {}

    async def ping(_: web.Request) -> web.Response:
        elapsed = time.monotonic() - started
        window = int(elapsed // limit.window)
        counts[window] = counts.get(window, 0) + 1
        if counts[window] > limit.requests:
            limit.refused += 1
            wait = (window + 1) * limit.window - elapsed
            return web.json_response(
                RATE_LIMITED, status=429, headers={"Retry-After": f"{wait:.3f}"}
            )
        limit.admitted += 1
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/v1/ping", ping)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_redis(executable: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``redis-server`` on a free port of 127.0.0.1, without persistence; return it and
    its port once it answers PING."""
    import redis

    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return process, port
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    stop_redis(process)
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.02)
    finally:
        client.close()


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(timeout=10)
