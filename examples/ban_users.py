"""Ban every user listed in a file, a bounded number at a time, and report each failure.

    python examples/ban_users.py ids.txt [--concurrency 20]

The file holds one user id per line; blank lines and lines starting with ``#`` are skipped.
Without ``CLERK_SECRET_KEY`` in the environment the users are banned in FakeClerk, an
imitation of Clerk's Backend API on 127.0.0.1 seeded with 1,000 users; without a file there
too, a sample file is written first: 200 of those users and one id that does not exist, to
show how a failure is reported. With ``CLERK_SECRET_KEY`` set, the file is required and the
bans are real.

Each ban is retried on its own (rate limits included) and one failing id does not stop the
others; the exit status is 1 when any ban failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from clerk_async import AsyncClerk, ClerkAPIError, Outcome
from clerk_async.models import User
from clerk_async.testing import FakeClerk

DEMO_USERS = 1_000
DEMO_LATENCY = 0.01  # seconds FakeClerk takes per request, as a network would
DEMO_LIMIT = (100, 1.0)  # requests per seconds, enforced by FakeClerk as Clerk would


def read_ids(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


async def ban_users(
    clerk: AsyncClerk, ids: list[str], concurrency: int
) -> list[Outcome[str, User]]:
    """Ban each user; one outcome per id, in the file's order."""
    return await clerk.map(clerk.users.ban, ids, concurrency=concurrency)


def report(outcomes: list[Outcome[str, User]], waited: float = 0.0) -> int:
    failed = [outcome for outcome in outcomes if not outcome.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} users banned")
    print(f"calls spent {waited:.1f}s in all (summed over calls) waiting on rate limits")
    for outcome in failed:
        error = outcome.error
        reason = f"{error.status} {error.code}" if isinstance(error, ClerkAPIError) else repr(error)
        print(f"  {outcome.item}: not banned ({reason})", file=sys.stderr)
    return 1 if failed else 0


async def run(file: Path | None, concurrency: int) -> int:
    if os.environ.get("CLERK_SECRET_KEY"):
        if file is None:
            raise SystemExit("with CLERK_SECRET_KEY set, give the file of user ids to ban")
        # The key and CLERK_API_URL come from the environment; "auto" keeps the job under the
        # instance's documented rate limit (development or production, from the key).
        async with AsyncClerk(rate_limit="auto") as clerk:
            outcomes = await ban_users(clerk, read_ids(file), concurrency)
            return report(outcomes, clerk.rate_limit_wait)

    # The fake enforces a development instance's limit, scaled down (100 requests per second
    # instead of per 10 seconds), so the demo shows the job running into it and recovering.
    async with FakeClerk(users=DEMO_USERS, delay=DEMO_LATENCY, rate_limit=DEMO_LIMIT) as fake:
        print(f"CLERK_SECRET_KEY is not set: banning in FakeClerk at {fake.url}")
        if file is None:
            file = Path(tempfile.mkdtemp()) / "ids.txt"
            sample = [*list(fake.users)[:200], "user_does_not_exist"]
            file.write_text("# users to ban\n" + "\n".join(sample) + "\n")
            print(f"no file given: wrote {len(sample)} sample ids to {file}")
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            outcomes = await ban_users(clerk, read_ids(file), concurrency)
            status = report(outcomes, clerk.rate_limit_wait)
        banned = sum(user["banned"] for user in fake.users.values())
        print(
            f"FakeClerk now holds {banned} banned users; at most {fake.max_in_flight} bans"
            " were in flight at once"
        )
        return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, nargs="?", help="one user id per line")
    parser.add_argument("--concurrency", type=int, default=20, help="bans in flight at once")
    args = parser.parse_args()
    return asyncio.run(run(args.file, args.concurrency))


if __name__ == "__main__":
    sys.exit(main())
