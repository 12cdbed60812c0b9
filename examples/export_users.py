"""Export every user of an instance to a JSON Lines file, with a progress line.

    python examples/export_users.py users.jsonl

Without ``CLERK_SECRET_KEY`` in the environment the export reads from FakeClerk, an imitation
of Clerk's Backend API on 127.0.0.1 seeded with 10,000 users (``--demo-users`` to change
that); with it, from your instance (``CLERK_API_URL`` points elsewhere than
``https://api.clerk.com``).

Users are read 500 at a time (Clerk's largest page) in creation order, oldest first, so users
who sign up during the export land at the end rather than shifting pages already read. The
next page is fetched while the current one is written, and only those two pages are ever in
memory. Each line is one user, exactly as the API returned it (fields Clerk adds later
included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import msgspec

from clerk_async import AsyncClerk, ClerkError
from clerk_async.testing import FakeClerk

PAGE_SIZE = 500


async def export_users(clerk: AsyncClerk, path: Path, *, progress: TextIO | None = None) -> int:
    """Write every user to ``path`` as JSON Lines; return how many were written."""
    total = (await clerk.users.count()).total_count
    encode = msgspec.json.Encoder().encode
    written = 0
    started = time.monotonic()
    with path.open("wb") as out:
        async for page in clerk.users.list(limit=PAGE_SIZE, order_by="+created_at").pages():
            out.writelines(encode(user) + b"\n" for user in page)
            written += len(page)
            if progress is not None and page:
                show_progress(progress, written, total, time.monotonic() - started)
    if progress is not None:
        waited = clerk.rate_limit_wait
        progress.write(f"\ncalls spent {waited:.1f}s in all waiting on rate limits\n")
    return written


def show_progress(stream: TextIO, done: int, total: int, elapsed: float) -> None:
    share = done / total if total else 1.0
    rate = done / elapsed if elapsed > 0 else 0.0
    bar = "#" * int(share * 30)
    stream.write(f"\r[{bar:<30}] {done:>7,}/{total:,} users  {rate:,.0f}/s")
    stream.flush()


async def run(path: Path, demo_users: int) -> int:
    if os.environ.get("CLERK_SECRET_KEY"):
        # The key and CLERK_API_URL come from the environment; "auto" keeps the job under the
        # instance's documented rate limit (development or production, from the key).
        async with AsyncClerk(rate_limit="auto") as clerk:
            return await export_users(clerk, path, progress=sys.stderr)
    async with FakeClerk(users=demo_users) as fake:
        print(
            f"CLERK_SECRET_KEY is not set: exporting from FakeClerk at {fake.url}", file=sys.stderr
        )
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            return await export_users(clerk, path, progress=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path, help="the .jsonl file to write")
    parser.add_argument("--demo-users", type=int, default=10_000, help="users FakeClerk holds")
    args = parser.parse_args()
    try:
        count = asyncio.run(run(args.output, args.demo_users))
    except ClerkError as error:
        print(f"\nexport failed: {error}", file=sys.stderr)
        return 1
    print(f"{count:,} users written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
