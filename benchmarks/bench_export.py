"""Export benchmark: read every user page by page, with clerk_async and the official SDK.

Usage::

    python benchmarks/bench_export.py            # 10,000 users, 30 ms latency, 3 rounds
    python benchmarks/bench_export.py --quick    # 2,000 users, 1 round: a smoke run

FakeClerk (``clerk_async.testing``) serves the users from its own process (this script with
``--serve``), answering each request after ``--latency`` milliseconds, as a distant API would.
Each client then reads every user in pages of 500, oldest first, and hands each page to a
consumer that takes ``--work`` milliseconds per page (standing for writing it to a file or a
database). The rows:

- ``clerk_async``: ``async for page in clerk.users.list(limit=500).pages()``, which fetches
  the next page while the consumer works on the current one;
- ``clerk_async, no prefetch``: the same with ``pages(prefetch=False)``;
- ``clerk-backend-api``: the official SDK has no iterator, so the loop every user writes:
  ``await sdk.users.list_async(request=GetUserListRequest(limit=500, offset=...))`` until a
  short page.

Every run must yield each user exactly once, in order. After one discarded round (imports,
first-use caches), the table shows each row's best round: wall time, users per second, and
the CPU time of the client process (the server's is in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _server  # noqa: E402  (a sibling module, importable once HERE is on the path)

PAGE = 500
SECRET_KEY = "sk_test_benchmark_export"


# -- the server, in its own process so that its CPU time is not the client's --------------------


def serve(users: int, latency_ms: float) -> None:
    from clerk_async.testing import FakeClerk

    async def run() -> None:
        async with FakeClerk(SECRET_KEY, users=users, delay=latency_ms / 1000) as fake:
            print(f"URL {fake.url}", flush=True)
            await asyncio.Event().wait()  # until terminated

    asyncio.run(run())


# -- the clients ----------------------------------------------------------------------------------

Pages = Callable[[str], AsyncIterator[Sequence[Any]]]


async def clerk_async_pages(url: str, *, prefetch: bool) -> AsyncIterator[Sequence[Any]]:
    from clerk_async import AsyncClerk

    async with AsyncClerk(SECRET_KEY, server_url=url) as clerk:
        pager = clerk.users.list(limit=PAGE, order_by="+created_at")
        async for page in pager.pages(prefetch=prefetch):
            yield page


async def official_pages(url: str) -> AsyncIterator[Sequence[Any]]:
    from clerk_backend_api import Clerk, models

    async with Clerk(bearer_auth=SECRET_KEY, server_url=url) as sdk:
        offset = 0
        while True:
            page = await sdk.users.list_async(
                request=models.GetUserListRequest(limit=PAGE, offset=offset, order_by="+created_at")
            )
            yield page
            if len(page) < PAGE:
                return
            offset += len(page)


def official_installed() -> bool:
    try:
        import clerk_backend_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Round:
    seconds: float
    cpu: float
    users: int


async def export(pages: AsyncIterator[Sequence[Any]], work_ms: float) -> tuple[int, list[str]]:
    ids: list[str] = []
    async for page in pages:
        ids.extend(user.id for user in page)
        await asyncio.sleep(work_ms / 1000)  # the consumer's own work on this page
    return len(ids), ids


def measure(pages: AsyncIterator[Sequence[Any]], work_ms: float, users: int) -> Round:
    gc.collect()  # garbage left by the previous row is not this row's cost
    started, cpu = time.perf_counter(), time.process_time()
    count, ids = asyncio.run(export(pages, work_ms))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if count != users or len(set(ids)) != users or ids != sorted(ids):
        raise SystemExit(
            f"an export returned {count} users ({len(set(ids))} distinct), not {users}"
        )
    return Round(elapsed, cpu, count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=30.0, help="server ms per request")
    parser.add_argument("--work", type=float, default=20.0, help="consumer ms per page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 users, 1 round")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.users, args.latency)
        return 0
    if args.quick:
        args.users, args.rounds = 2_000, 1
    if args.users < 1 or args.rounds < 1:
        parser.error("--users and --rounds must be at least 1")

    rows: dict[str, Pages | None] = {
        "clerk_async": lambda url: clerk_async_pages(url, prefetch=True),
        "clerk_async, no prefetch": lambda url: clerk_async_pages(url, prefetch=False),
        "clerk-backend-api": official_pages if official_installed() else None,
    }
    requests = -(-args.users // PAGE) + (args.users % PAGE == 0)
    server, url = _server.spawn(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            f"--users={args.users}",
            f"--latency={args.latency}",
        ],
        "URL",
    )
    try:
        best: dict[str, Round] = {}
        for pages in rows.values():  # a discarded round: imports and first-use caches
            if pages is not None:
                measure(pages(url), args.work, args.users)
        for _ in range(args.rounds):  # rounds alternate between the rows
            for name, pages in rows.items():
                if pages is not None:
                    result = measure(pages(url), args.work, args.users)
                    if name not in best or result.seconds < best[name].seconds:
                        best[name] = result
    finally:
        _server.stop(server)

    print(
        f"Exporting {args.users:,} users in pages of {PAGE} ({requests} requests):"
        f" {args.latency:g} ms server latency, {args.work:g} ms of work per page;"
        f" best of {args.rounds}\n"
    )
    print(f"{'':26}{'seconds':>9}{'users/s':>10}{'CPU ms':>9}")
    for name in rows:
        if name not in best:
            print(f"{name:26}{'not installed':>28}")
            continue
        r = best[name]
        print(f"{name:26}{r.seconds:9.3f}{r.users / r.seconds:10,.0f}{r.cpu * 1000:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
