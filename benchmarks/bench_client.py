"""Client benchmark: clerk_async against the official SDK and a raw aiohttp + msgspec floor.

Usage::

    python benchmarks/bench_client.py            # 2000 calls per phase, best of 2 rounds
    python benchmarks/bench_client.py --quick    # 200 calls, 1 round: a smoke run

A local aiohttp server (``benchmarks/_server.py``, its own process) answers ``GET /v1/users``
with ten realistic users and ``GET /v1/users/{user_id}`` with one. Every client then runs two
phases in a fresh worker process, so imports, caches and garbage of one client never weigh on
another, and the worker's CPU time is the client's alone:

- ``list``: N ``users.list(limit=10)`` calls, ``--concurrency`` of them in flight at a time;
- ``get``: N ``users.get(user_id)`` calls, one after the other.

Rounds alternate between the clients so that a slow spell of the machine hits them all; the
table shows each client's best round (highest req/s, lowest CPU per call, each taken on its
own), since other work on the machine only ever adds time. Import times are the median of
several fresh interpreters.
See ``benchmarks/README.md`` for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _server  # noqa: E402  (a sibling module, importable once HERE is on the path)

CLIENTS = ("clerk_async", "official", "raw")
LABELS = {
    "clerk_async": "clerk_async",
    "official": "clerk-backend-api",
    "raw": "raw aiohttp+msgspec",
}
LIST_LIMIT = 10
GET_ID = _server.user_id(3)

# The figures the project's goals are stated in.
TARGET_LIST_SPEEDUP = 20.0
TARGET_CPU_OVER_RAW = 1.3

IMPORTS = (
    ("import clerk_async", "import clerk_async"),
    ("import clerk_backend_api", "import clerk_backend_api"),
    ("from clerk_async import AsyncClerk", "from clerk_async import AsyncClerk"),
    ("from clerk_backend_api import Clerk", "from clerk_backend_api import Clerk"),
)


class Unavailable(Exception):
    """The client cannot be benchmarked here; the message says why (shown in its row)."""


# --------------------------------------------------------------------------------------------
# The raw floor: the least code that fetches the same JSON and decodes it into typed objects.
# --------------------------------------------------------------------------------------------


class RawLink(msgspec.Struct):
    type: str
    id: str


class RawVerification(msgspec.Struct):
    status: str
    strategy: str
    attempts: int | None = None
    expire_at: int | None = None
    object: str | None = None
    error: dict[str, Any] | None = None
    channel: str | None = None
    verified_at_client: str | None = None
    external_verification_redirect_url: str | None = None


class RawEmailAddress(msgspec.Struct):
    object: str
    email_address: str
    reserved: bool
    verification: RawVerification | None
    linked_to: list[RawLink]
    created_at: int
    updated_at: int
    id: str | None = None
    matches_sso_connection: bool | None = None


class RawPhoneNumber(msgspec.Struct):
    object: str
    phone_number: str
    reserved: bool
    verification: RawVerification | None
    linked_to: list[RawLink]
    created_at: int
    updated_at: int
    id: str | None = None
    reserved_for_second_factor: bool | None = None
    default_second_factor: bool | None = None
    backup_codes: list[str] | None = None


class RawExternalAccount(msgspec.Struct):
    object: str
    id: str
    provider: str
    identification_id: str
    provider_user_id: str
    approved_scopes: str
    email_address: str
    first_name: str
    last_name: str
    public_metadata: dict[str, Any]
    created_at: int
    updated_at: int
    verification: RawVerification | None
    email_address_verified: bool | None = None
    avatar_url: str | None = None
    image_url: str | None = None
    username: str | None = None
    phone_number: str | None = None
    label: str | None = None


class RawUser(msgspec.Struct):
    id: str
    object: str
    external_id: str | None
    primary_email_address_id: str | None
    primary_phone_number_id: str | None
    primary_web3_wallet_id: str | None
    username: str | None
    first_name: str | None
    last_name: str | None
    has_image: bool
    public_metadata: dict[str, Any]
    email_addresses: list[RawEmailAddress]
    phone_numbers: list[RawPhoneNumber]
    web3_wallets: list[dict[str, Any]]
    passkeys: list[dict[str, Any]]
    password_enabled: bool
    two_factor_enabled: bool
    totp_enabled: bool
    backup_code_enabled: bool
    mfa_enabled_at: int | None
    mfa_disabled_at: int | None
    external_accounts: list[RawExternalAccount]
    saml_accounts: list[dict[str, Any]]
    enterprise_accounts: list[dict[str, Any]]
    last_sign_in_at: int | None
    banned: bool
    locked: bool
    lockout_expires_in_seconds: int | None
    verification_attempts_remaining: int | None
    created_at: int
    updated_at: int
    delete_self_enabled: bool
    create_organization_enabled: bool
    last_active_at: int | None
    legal_accepted_at: int | None
    locale: str | None = None
    profile_image_url: str | None = None
    image_url: str | None = None
    private_metadata: dict[str, Any] | None = None
    unsafe_metadata: dict[str, Any] | None = None
    password_last_updated_at: int | None = None
    organization_memberships: list[dict[str, Any]] | None = None
    deprovisioned: bool | None = None
    create_organizations_limit: int | None = None
    bypass_client_trust: bool | None = None
    scim: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------
# Worker side: one client, one round, figures printed as one JSON line.
# --------------------------------------------------------------------------------------------

Call = Callable[[], Awaitable[Any]]


@dataclass
class Phase:
    calls: int
    wall: float
    cpu: float


async def _run_concurrent(call: Call, calls: int, concurrency: int) -> None:
    """``calls`` calls with at most ``concurrency`` in flight, through a fixed pool of tasks
    (cheaper than one task per call, so the pool itself barely shows in the figures)."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, calls))))


async def _run_sequential(call: Call, calls: int) -> None:
    for _ in range(calls):
        await call()


async def _measure(run: Callable[[], Awaitable[None]], calls: int) -> Phase:
    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await run()
    return Phase(calls, time.perf_counter() - wall0, time.process_time() - cpu0)


async def _bench(list_call: Call, get_call: Call, calls: int, concurrency: int) -> dict[str, Any]:
    # One correct answer of each kind first: a client that fails here has no figures.
    users = await list_call()
    if [user.id for user in users] != [_server.user_id(i) for i in range(LIST_LIMIT)]:
        raise RuntimeError(f"users.list returned unexpected users: {users!r:.200}")
    user = await get_call()
    if user.id != GET_ID or len(user.email_addresses) != 2:
        raise RuntimeError(f"users.get returned an unexpected user: {user!r:.200}")

    async def checked_list() -> None:
        if len(await list_call()) != LIST_LIMIT:
            raise RuntimeError("users.list returned a short page")

    async def checked_get() -> None:
        if (await get_call()).id != GET_ID:
            raise RuntimeError("users.get returned another user")

    # Warm up: open the pool's connections and fill every lazy cache before measuring.
    warmup = max(calls // 20, concurrency)
    await _run_concurrent(checked_list, warmup, concurrency)
    await _run_sequential(checked_get, warmup // 2)

    listed = await _measure(lambda: _run_concurrent(checked_list, calls, concurrency), calls)
    got = await _measure(lambda: _run_sequential(checked_get, calls), calls)
    return {"list": listed.__dict__, "get": got.__dict__}


async def _bench_clerk_async(base_url: str, calls: int, concurrency: int) -> dict[str, Any]:
    from clerk_async import AsyncClerk

    async with AsyncClerk(bearer_auth=_server.SECRET_KEY, server_url=base_url) as clerk:
        if not hasattr(clerk, "users"):
            raise Unavailable("not generated yet (clerk_async/resources/users.py missing)")
        users = clerk.users
        return await _bench(
            lambda: users.list(limit=LIST_LIMIT), lambda: users.get(GET_ID), calls, concurrency
        )


async def _bench_official(base_url: str, calls: int, concurrency: int) -> dict[str, Any]:
    try:
        from clerk_backend_api import Clerk, models
    except ImportError:
        raise Unavailable("not installed") from None

    # The SDK builds a sync and an async httpx client; the two context managers close both.
    with Clerk(bearer_auth=_server.SECRET_KEY, server_url=base_url) as sdk:
        async with sdk:
            users = sdk.users
            # Query parameters travel in `request`, not as keywords. The model instance is the
            # SDK's cheaper form: a plain dict there is first converted through a pydantic
            # model built on every call.
            return await _bench(
                lambda: users.list_async(request=models.GetUserListRequest(limit=LIST_LIMIT)),
                lambda: users.get_async(user_id=GET_ID),
                calls,
                concurrency,
            )


async def _bench_raw(base_url: str, calls: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    list_decoder = msgspec.json.Decoder(list[RawUser])
    user_decoder = msgspec.json.Decoder(RawUser)
    headers = {"Authorization": "Bearer " + _server.SECRET_KEY, "Accept": "application/json"}
    list_url, get_url = f"{base_url}/users", f"{base_url}/users/{GET_ID}"
    params = {"limit": str(LIST_LIMIT)}

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100), headers=headers
    ) as session:

        async def list_users() -> list[RawUser]:
            async with session.get(list_url, params=params) as response:
                response.raise_for_status()
                return list_decoder.decode(await response.read())

        async def get_user() -> RawUser:
            async with session.get(get_url) as response:
                response.raise_for_status()
                return user_decoder.decode(await response.read())

        return await _bench(list_users, get_user, calls, concurrency)


WORKERS = {"clerk_async": _bench_clerk_async, "official": _bench_official, "raw": _bench_raw}


def worker_main(client: str, base_url: str, calls: int, concurrency: int) -> int:
    try:
        result = asyncio.run(WORKERS[client](base_url, calls, concurrency))
    except Unavailable as exc:
        result = {"unavailable": str(exc)}
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Driver side: the server, the rounds, the import timings and the table.
# --------------------------------------------------------------------------------------------


def _start_server() -> tuple[subprocess.Popen[str], str]:
    proc, port = _server.spawn([sys.executable, str(HERE / "_server.py")], "PORT")
    return proc, f"http://127.0.0.1:{int(port)}/v1"


def _run_worker(client: str, base_url: str, calls: int, concurrency: int) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        client,
        "--url",
        base_url,
        "--calls",
        str(calls),
        "--concurrency",
        str(concurrency),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {LABELS[client]} worker failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _best_phase(rounds: list[dict[str, Any]], phase: str) -> dict[str, float]:
    """The highest req/s and the lowest CPU per call over the rounds, each taken on its own."""
    return {
        "req_per_s": max(r[phase]["calls"] / r[phase]["wall"] for r in rounds),
        "cpu_us_per_call": min(r[phase]["cpu"] / r[phase]["calls"] * 1e6 for r in rounds),
    }


def _import_time(statement: str, runs: int) -> float | str:
    """Median seconds ``statement`` takes in a fresh interpreter, or why it could not run."""
    code = (
        "import time\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - start)\n"
    )
    samples = []
    # The first run may compile bytecode; it is thrown away.
    for attempt in range(runs + 1):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return "not installed" if "ModuleNotFoundError" in done.stderr else "failed"
        if attempt:
            samples.append(float(done.stdout.strip()))
    return statistics.median(samples)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _verdict(value: float | None, target: float, *, at_least: bool) -> str:
    if value is None:
        return ""
    met = value >= target if at_least else value <= target
    return "met" if met else "MISSED"


def _report(
    args: argparse.Namespace,
    results: dict[str, dict[str, Any]],
    imports: dict[str, float | str],
) -> str:
    lines = [
        f"clerk_async client benchmark: {args.calls} calls per phase, list concurrency"
        f" {args.concurrency}, best of {args.rounds} round(s)"
        + (
            f" ({LABELS['official']}: {args.official_rounds})"
            if args.official_rounds != args.rounds
            else ""
        ),
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs;"
        f" clerk-async {_version('clerk-async')}, clerk-backend-api"
        f" {_version('clerk-backend-api')}, aiohttp {_version('aiohttp')},"
        f" msgspec {_version('msgspec')}, httpx {_version('httpx')},"
        f" pydantic {_version('pydantic')}",
        "",
        f"{'':22}  {'users.list(limit=10), concurrent':>34}  {'users.get(id), sequential':>34}",
        f"{'client':22}  {'req/s':>16} {'CPU us/call':>17}  {'req/s':>16} {'CPU us/call':>17}",
    ]
    for client in CLIENTS:
        result = results[client]
        label = LABELS[client]
        if "unavailable" in result:
            lines.append(f"{label:22}  {result['unavailable']}")
            continue
        cells = []
        for phase in ("list", "get"):
            figures = result[phase]
            cells.append(f"{figures['req_per_s']:>16,.0f} {figures['cpu_us_per_call']:>17,.0f}")
        lines.append(f"{label:22}  " + "  ".join(cells))

    def ratio(numerator: str, denominator: str, phase: str, key: str) -> float | None:
        a, b = results[numerator], results[denominator]
        if "unavailable" in a or "unavailable" in b:
            return None
        return float(a[phase][key] / b[phase][key])

    speedup = ratio("clerk_async", "official", "list", "req_per_s")
    cpu_list = ratio("clerk_async", "raw", "list", "cpu_us_per_call")
    cpu_get = ratio("clerk_async", "raw", "get", "cpu_us_per_call")
    cpu_official = ratio("official", "clerk_async", "list", "cpu_us_per_call")
    lines += [
        "",
        f"{'ratio':58} {'measured':>9}  target",
        f"{'clerk_async list req/s / clerk-backend-api list req/s':58} {_fmt_ratio(speedup):>9}"
        f"  >= {TARGET_LIST_SPEEDUP:g}x  {_verdict(speedup, TARGET_LIST_SPEEDUP, at_least=True)}",
        f"{'clerk_async list CPU per call / raw list CPU per call':58} {_fmt_ratio(cpu_list):>9}"
        f"  <= {TARGET_CPU_OVER_RAW:g}x  {_verdict(cpu_list, TARGET_CPU_OVER_RAW, at_least=False)}",
        f"{'clerk_async get CPU per call / raw get CPU per call':58} {_fmt_ratio(cpu_get):>9}"
        f"  <= {TARGET_CPU_OVER_RAW:g}x  {_verdict(cpu_get, TARGET_CPU_OVER_RAW, at_least=False)}",
        f"{'clerk-backend-api list CPU per call / clerk_async':58} {_fmt_ratio(cpu_official):>9}",
    ]
    if imports:
        lines += [
            "",
            f"{'import time, fresh interpreter, median of ' + str(args.import_runs):58} {'ms':>9}",
        ]
        for statement, seconds in imports.items():
            shown = seconds if isinstance(seconds, str) else f"{seconds * 1000:.1f}"
            lines.append(f"{statement:58} {shown:>9}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 calls, 1 round, 3 import runs")
    parser.add_argument("--calls", type=int, help="calls per phase (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="list calls in flight")
    parser.add_argument("--rounds", type=int, help="rounds per client (default 2)")
    parser.add_argument(
        "--official-rounds",
        type=int,
        help="fewer rounds for the slow official SDK (default: --rounds)",
    )
    parser.add_argument("--import-runs", type=int, help="fresh interpreters per import (default 5)")
    parser.add_argument("--skip-imports", action="store_true", help="do not time the imports")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.calls is None:
        args.calls = 200 if args.quick else 2000
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.official_rounds is None:
        args.official_rounds = args.rounds
    args.official_rounds = min(args.official_rounds, args.rounds)
    if args.import_runs is None:
        args.import_runs = 3 if args.quick else 5
    counts = (args.calls, args.rounds, args.official_rounds, args.concurrency, args.import_runs)
    if min(counts) < 1:
        parser.error(
            "--calls, --rounds, --official-rounds, --concurrency and --import-runs"
            " must be at least 1"
        )

    if args.worker:
        return worker_main(args.worker, args.url, args.calls, args.concurrency)

    started = time.perf_counter()
    rounds: dict[str, list[dict[str, Any]]] = {client: [] for client in CLIENTS}
    unavailable: dict[str, str] = {}
    server, base_url = _start_server()
    try:
        for number in range(1, args.rounds + 1):
            for client in CLIENTS:
                if client in unavailable:
                    continue
                if client == "official" and number > args.official_rounds:
                    continue
                print(
                    f"round {number}/{args.rounds}: {LABELS[client]}", file=sys.stderr, flush=True
                )
                result = _run_worker(client, base_url, args.calls, args.concurrency)
                if "unavailable" in result:
                    unavailable[client] = result["unavailable"]
                else:
                    rounds[client].append(result)
    finally:
        _server.stop(server)

    results: dict[str, dict[str, Any]] = {}
    for client in CLIENTS:
        if client in unavailable:
            results[client] = {"unavailable": unavailable[client]}
        else:
            results[client] = {
                "list": _best_phase(rounds[client], "list"),
                "get": _best_phase(rounds[client], "get"),
            }

    imports: dict[str, float | str] = {}
    if not args.skip_imports:
        for label, statement in IMPORTS:
            print(f"timing: {label}", file=sys.stderr, flush=True)
            imports[label] = _import_time(statement, args.import_runs)

    print(_report(args, results, imports))
    print(f"\n(finished in {time.perf_counter() - started:.0f}s)")
    if args.json:
        args.json.write_text(
            json.dumps({"clients": results, "imports": imports, "rounds": rounds}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
