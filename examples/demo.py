"""A short tour of clerk_async.

Without ``CLERK_SECRET_KEY`` in the environment, the tour runs against FakeClerk, an imitation
of Clerk's Backend API served on 127.0.0.1, so it needs no account and no network: it creates,
reads, updates, lists (one page, then every page) and deletes a user, creates an organization,
then sends 50 requests at once. With ``CLERK_SECRET_KEY`` set, it only reads from your
instance: the user count, the five newest users and the five newest organizations.
``CLERK_API_URL`` (default ``https://api.clerk.com``, without the ``/v1``) points that
read-only tour elsewhere.

Run it with ``python examples/demo.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime, timezone

from clerk_async import AsyncClerk, ClerkError
from clerk_async.testing import FakeClerk

CONCURRENT_CALLS = 50
SIMULATED_LATENCY = 0.05  # seconds the fake waits per request, so concurrency is visible


def step(label: str, detail: str) -> None:
    print(f"  {label:<22} {detail}")


def when(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"
    )


async def offline_tour() -> None:
    async with FakeClerk(users=CONCURRENT_CALLS) as fake:
        print(f"CLERK_SECRET_KEY is not set: running against FakeClerk at {fake.url}\n")
        async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url) as clerk:
            user = await clerk.users.create(
                email_address=["ada@example.com"],
                first_name="Ada",
                last_name="Lovelace",
                username="ada_lovelace",
            )
            step("users.create", f"{user.id} <{user.email_addresses[0].email_address}>")

            user = await clerk.users.get(user.id)
            step("users.get", f"{user.id}: {user.first_name} {user.last_name} (@{user.username})")

            user = await clerk.users.update(user.id, first_name="Augusta Ada")
            step("users.update", f"first_name is now {user.first_name!r}")

            users = await clerk.users.list(limit=5)
            names = ", ".join(f"{u.first_name} {u.last_name}" for u in users)
            step("users.list", f"{len(users)} newest users: {names}")

            sent = len(fake.requests)
            every = [u.id async for u in clerk.users.list(limit=20)]
            step(
                "users.list, all pages",
                f"{len(every)} users in {len(fake.requests) - sent} requests",
            )

            organization = await clerk.organizations.create(
                name="Analytical Engines", created_by=user.id
            )
            step(
                "organizations.create",
                f"{organization.id} ({organization.slug}), created by {user.id}",
            )

            deleted = await clerk.users.delete(user.id)
            step("users.delete", f"{deleted.id} deleted={deleted.deleted}")

            # Each request now takes SIMULATED_LATENCY on the server; sent one after another,
            # 50 of them would take 50 times as long.
            ids = [u.id for u in await clerk.users.list(limit=CONCURRENT_CALLS)]
            fake.delay = SIMULATED_LATENCY
            fake.max_in_flight = 0
            started = time.perf_counter()
            results = await asyncio.gather(
                *(clerk.users.get(user_id) for user_id in ids), return_exceptions=True
            )
            elapsed = time.perf_counter() - started
            succeeded = sum(not isinstance(result, BaseException) for result in results)
            print(
                f"\n{len(ids)} concurrent users.get calls: {succeeded} succeeded in"
                f" {elapsed * 1000:.0f} ms ({SIMULATED_LATENCY * 1000:.0f} ms latency each,"
                f" up to {fake.max_in_flight} in flight at once)"
            )
            for result in results:
                if isinstance(result, BaseException):
                    print(f"  failed: {result}", file=sys.stderr)
            if succeeded != len(ids):
                raise SystemExit(1)


async def live_tour() -> None:
    api_url = os.environ.get("CLERK_API_URL") or "https://api.clerk.com"
    async with AsyncClerk(
        server_url=api_url.rstrip("/") + "/v1"
    ) as clerk:  # reads CLERK_SECRET_KEY
        print(f"CLERK_SECRET_KEY is set: read-only calls against {clerk.server_url}\n")
        count = await clerk.users.count()
        step("users.count", f"{count.total_count} users")

        users = await clerk.users.list(limit=5)
        step("users.list", f"the {len(users)} newest users:")
        for user in users:
            name = " ".join(n for n in (user.first_name, user.last_name) if n) or "(no name)"
            print(f"  {'':<22}   {user.id}  {name}, created {when(user.created_at)}")

        organizations = await clerk.organizations.list(limit=5)
        step(
            "organizations.list",
            f"{organizations.total_count} organizations, the {len(organizations)} newest:",
        )
        for organization in organizations:
            print(f"  {'':<22}   {organization.id}  {organization.name} ({organization.slug})")


def main() -> int:
    tour = live_tour if os.environ.get("CLERK_SECRET_KEY") else offline_tour
    try:
        asyncio.run(tour())
    except ClerkError as exc:
        print(f"\nfailed: {exc}", file=sys.stderr)
        return 1
    print("\ndone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
