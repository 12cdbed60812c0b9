"""Retry benchmark: the same job against a flaky server, with clerk_async and the official SDK.

Usage::

    python benchmarks/bench_retries.py            # 10,000 users.get calls per client
    python benchmarks/bench_retries.py --quick    # 1,000 calls
    python benchmarks/bench_retries.py --status 503

A local aiohttp server (this script with ``--serve``, in its own process) answers
``GET /v1/users/{user_id}`` with a realistic user, except for a seeded random share of the
requests (30% by default), which get ``429 Too Many Requests`` with ``Retry-After: 0`` (or
another status with ``--status``). Each client then makes the same calls, ``--concurrency`` of
them in flight at a time, and the table shows for each: the wall time, the attempts the server
received, how many calls returned their user, how many raised, and how many were cut off by the
per-call bound (``--call-timeout``, applied to both clients with ``asyncio.wait_for``), which
keeps a client that would retry for a very long time from stalling the run.

Both clients run with their default retry settings. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _server  # noqa: E402  (a sibling module, importable once HERE is on the path)

USER_ID = _server.user_id(3)
DEFAULT_SEED = 20260512


# --------------------------------------------------------------------------------------------
# The flaky server (run in its own process, so its CPU time does not slow the clients down)
# --------------------------------------------------------------------------------------------


def serve(share: float, seed: int, refusal: int) -> None:
    from aiohttp import web

    user = json.dumps(_server.make_user(3), separators=(",", ":")).encode()
    by_id = {USER_ID: user}
    expected_auth = "Bearer " + _server.SECRET_KEY
    refused_body = json.dumps(
        {"errors": [{"code": "too_many_requests", "message": "Too many requests"}]}
        if refusal == 429
        else {"errors": [{"code": "service_unavailable", "message": "Try again later"}]}
    ).encode()
    state: dict[str, Any] = {}

    def reset() -> None:
        state.update(random=random.Random(seed), ok=0, refused=0, other=0)

    reset()

    async def get_user(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected_auth:
            state["other"] += 1
            return web.Response(status=401, body=b'{"errors":[]}', content_type="application/json")
        if state["random"].random() < share:
            state["refused"] += 1
            return web.Response(
                status=refusal,
                body=refused_body,
                headers={"Retry-After": "0"},
                content_type="application/json",
            )
        body = by_id.get(request.match_info["user_id"])
        if body is None:
            state["other"] += 1
            return web.Response(status=404, body=b'{"errors":[]}', content_type="application/json")
        state["ok"] += 1
        return web.Response(body=body, content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({key: state[key] for key in ("ok", "refused", "other")})

    async def do_reset(request: web.Request) -> web.Response:
        reset()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/v1/users/{user_id}", get_user)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/_reset", do_reset)
    _server.run(app)


class ServerProcess:
    def __init__(self, share: float, seed: int, refusal: int) -> None:
        self.process, port = _server.spawn(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve",
                f"--share={share}",
                f"--seed={seed}",
                f"--status={refusal}",
            ],
            "PORT",
        )
        self.origin = f"http://127.0.0.1:{int(port)}"
        self.base_url = self.origin + "/v1"

    def close(self) -> None:
        _server.stop(self.process)


async def _admin(origin: str, method: str, path: str) -> dict[str, int]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.request(method, origin + path) as reply:
        reply.raise_for_status()
        result: dict[str, int] = await reply.json()
        return result


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    label: str
    wall: float = 0.0
    attempts: int = 0
    succeeded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    unavailable: str = ""

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())


async def _job(
    call: Callable[[], Awaitable[Any]],
    check: Callable[[Any], bool],
    describe: Callable[[BaseException], str],
    outcome: Outcome,
    calls: int,
    concurrency: int,
    call_timeout: float,
) -> None:
    """``calls`` calls, ``concurrency`` at a time, each bounded by ``call_timeout`` seconds."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                result = await asyncio.wait_for(call(), call_timeout)
            except asyncio.TimeoutError:
                outcome.lost += 1
            except Exception as exc:
                outcome.failed[describe(exc)] += 1
            else:
                if check(result):
                    outcome.succeeded += 1
                else:
                    outcome.failed["wrong user"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    outcome.wall = time.perf_counter() - started


async def run_clerk_async(base_url: str, args: argparse.Namespace) -> Outcome:
    from clerk_async import AsyncClerk, ClerkAPIError

    outcome = Outcome("clerk_async")

    def describe(exc: BaseException) -> str:
        if isinstance(exc, ClerkAPIError):
            return f"{type(exc).__name__} (HTTP {exc.status}, {exc.attempts} attempts)"
        return type(exc).__name__

    async with AsyncClerk(
        _server.SECRET_KEY, server_url=base_url, max_connections=args.concurrency
    ) as clerk:
        users = clerk.users
        await _job(
            lambda: users.get(USER_ID),
            lambda user: user.id == USER_ID,
            describe,
            outcome,
            args.calls,
            args.concurrency,
            args.call_timeout,
        )
    return outcome


async def run_official(base_url: str, args: argparse.Namespace) -> Outcome:
    return await _official(base_url, args, opt_in_429=False)


async def run_official_429(base_url: str, args: argparse.Namespace) -> Outcome:
    return await _official(base_url, args, opt_in_429=True)


async def _official(base_url: str, args: argparse.Namespace, *, opt_in_429: bool) -> Outcome:
    outcome = Outcome("clerk-backend-api" + (" +429" if opt_in_429 else ""))
    try:
        from clerk_backend_api import Clerk, utils
        from clerk_backend_api.types import UNSET
    except ImportError:
        outcome.unavailable = "not installed"
        return outcome
    # Its default policy (see the SDK's users.py) with 429 added to the retried statuses: the
    # only way to make it retry a 429. UNSET, not None, keeps the default (None turns it off).
    retries: Any = (
        utils.RetryConfig(
            "backoff", utils.BackoffStrategy(500, 60000, 1.5, 3600000), True, ["429", "5XX"]
        )
        if opt_in_429
        else UNSET
    )

    def describe(exc: BaseException) -> str:
        status = getattr(exc, "status_code", None)
        return f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__

    # The SDK builds a sync and an async httpx client; the two context managers close both.
    with Clerk(bearer_auth=_server.SECRET_KEY, server_url=base_url) as sdk:
        async with sdk:
            users = sdk.users
            timeout_ms = int(args.call_timeout * 1000)
            await _job(
                lambda: users.get_async(user_id=USER_ID, timeout_ms=timeout_ms, retries=retries),
                lambda user: user.id == USER_ID,
                describe,
                outcome,
                args.calls,
                args.concurrency,
                args.call_timeout,
            )
    return outcome


async def measure(
    server: ServerProcess,
    runner: Callable[[str, argparse.Namespace], Awaitable[Outcome]],
    args: argparse.Namespace,
) -> Outcome:
    await _admin(server.origin, "POST", "/_reset")  # the same random sequence for every client
    outcome = await runner(server.base_url, args)
    counts = await _admin(server.origin, "GET", "/_stats")
    outcome.attempts = counts["ok"] + counts["refused"] + counts["other"]
    return outcome


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    print(
        f"{args.calls:,} users.get calls, {args.concurrency} in flight at a time; the server"
        f" answers {args.status} (Retry-After: 0) to {args.share:.0%} of requests"
        f" (seed {args.seed})."
    )
    print(
        f"Python {sys.version.split()[0]}, clerk_async {_version('clerk-async')},"
        f" clerk-backend-api {_version('clerk-backend-api')}; default retry settings."
        f" Every call is cut off after {args.call_timeout:g}s."
    )
    print()
    header = (
        f"{'client':24} {'wall s':>8} {'attempts':>10} {'succeeded':>10} {'failed':>8} {'lost':>6}"
    )
    print(header)
    print("-" * len(header))
    for outcome in outcomes:
        if outcome.unavailable:
            print(f"{outcome.label:24} {outcome.unavailable}")
            continue
        print(
            f"{outcome.label:24} {outcome.wall:8.2f} {outcome.attempts:10,} {outcome.succeeded:10,}"
            f" {outcome.failed_total:8,} {outcome.lost:6,}"
        )
    print()
    for outcome in outcomes:
        for reason, count in sorted(outcome.failed.items()):
            print(f"{outcome.label} failed: {count:,} x {reason}")
        if outcome.lost:
            calls = "call" if outcome.lost == 1 else "calls"
            print(
                f"{outcome.label} lost: {outcome.lost:,} {calls} cut off after"
                f" {args.call_timeout:g}s"
            )
        ended = outcome.succeeded + outcome.failed_total + outcome.lost
        if not outcome.unavailable and ended != args.calls:
            print(f"{outcome.label}: {args.calls - ended:,} calls unaccounted for")
    print()
    print(
        "clerk_async retries 429, 502, 503 and 504 for every method, at most 3 times, honouring"
        " Retry-After."
    )
    print(
        "clerk-backend-api retries only 5XX answers by default (429 only when the caller lists"
        " it, as in the +429 row), waiting from 0.5s upwards whatever Retry-After says when it is"
        f" 0, for up to an hour per call: the {args.call_timeout:g}s cut-off bounds it here."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 calls instead of 10,000")
    parser.add_argument("--calls", type=int, default=None, help="calls per client")
    parser.add_argument("--concurrency", type=int, default=50, help="calls in flight at a time")
    parser.add_argument("--share", type=float, default=0.3, help="share of requests refused")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--status", type=int, default=429, choices=(429, 502, 503, 504), help="the refusal"
    )
    parser.add_argument(
        "--call-timeout", type=float, default=10.0, help="seconds before a call is cut off"
    )
    parser.add_argument(
        "--official-429",
        action="store_true",
        help="also run the official SDK with 429 added to its retried statuses (slow)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.share, args.seed, args.status)
        return
    if args.calls is None:
        args.calls = 1_000 if args.quick else 10_000
    if args.calls < 1 or args.concurrency < 1 or not 0 <= args.share < 1 or args.call_timeout <= 0:
        parser.error("--calls and --concurrency must be positive, --share in [0, 1)")

    server = ServerProcess(args.share, args.seed, args.status)
    try:
        outcomes = [
            asyncio.run(measure(server, run_clerk_async, args)),
            asyncio.run(measure(server, run_official, args)),
        ]
        if args.official_429:
            outcomes.append(asyncio.run(measure(server, run_official_429, args)))
    finally:
        server.close()
    report(outcomes, args)


if __name__ == "__main__":
    main()
