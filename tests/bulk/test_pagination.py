"""List operations against FakeClerk with 10,000 users: one page, every page, and failures.

The fake pages exactly as Clerk does: ``GET /users`` answers a bare array, ``GET
/organizations`` an object with ``data`` and ``total_count``. Every request it receives is
recorded, so the tests check what went over the wire as well as what came back.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from clerk_async import AsyncClerk, AsyncPager, Page, RetryConfig, ServerError
from clerk_async.models import MachineToMachineToken, Organization, Paginated, User
from clerk_async.testing import FakeClerk, RecordedRequest

from .._support import serve, wait_until

USERS = 10_000


@pytest.fixture(scope="module")
def seeded() -> FakeClerk:
    """Seeding is the slow part, so the 10,000 users are made once for the module."""
    fake = FakeClerk(users=USERS)
    fake.seed_organizations(1_000)
    return fake


@pytest.fixture
async def fake(seeded: FakeClerk) -> AsyncIterator[FakeClerk]:
    seeded.requests.clear()
    seeded.delay = 0.0
    async with seeded:
        yield seeded


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(fake.secret_key, server_url=fake.url, retry=False) as client:
        yield client


def offsets(fake: FakeClerk, path: str = "/v1/users") -> list[str | None]:
    return [r.query.get("offset") for r in fake.requests if r.path == path]


# -- iterating every page ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 100, 500])
async def test_bare_array_listing_yields_every_user_once_in_order(
    fake: FakeClerk, clerk: AsyncClerk, limit: int
) -> None:
    ids = [user.id async for user in clerk.users.list(limit=limit, order_by="created_at")]

    assert ids == list(fake.users)  # the fake's users, oldest first
    # Full pages give no total, so a listing that ends on a full page needs one more request,
    # which comes back empty; one that ends on a short page stops there.
    full_pages, rest = divmod(USERS, limit)
    assert len(fake.requests) == full_pages + 1
    assert offsets(fake) == [None] + [str(limit * n) for n in range(1, full_pages + 1)]
    assert rest or fake.requests[-1].query["offset"] == str(USERS)
    for request in fake.requests:
        assert request.query["limit"] == str(limit)
        assert request.query["order_by"] == "created_at"


@pytest.mark.parametrize("limit", [7, 100])
async def test_envelope_listing_stops_at_total_count_without_an_extra_request(
    fake: FakeClerk, clerk: AsyncClerk, limit: int
) -> None:
    pager = clerk.organizations.list(limit=limit, order_by="-name")
    names = [organization.name async for organization in pager]

    assert names == sorted((o["name"] for o in fake.organizations.values()), reverse=True)
    assert len(names) == len(set(names)) == 1_000
    assert len(fake.requests) == -(-1_000 // limit)  # ceil: the total says when to stop
    assert all(r.query["order_by"] == "-name" for r in fake.requests)


async def test_filters_go_unchanged_with_every_page(fake: FakeClerk, clerk: AsyncClerk) -> None:
    emails = [f"user{n:05d}@example.com" for n in range(1, 26)]
    found = [
        user.username
        async for user in clerk.users.list(email_address=emails, order_by="username", limit=10)
    ]

    assert found == [f"user{n:05d}" for n in range(1, 26)]
    assert len(fake.requests) == 3
    for request in fake.requests:
        assert request.query.getall("email_address") == emails
        assert request.query["order_by"] == "username"
    assert offsets(fake) == [None, "10", "20"]


async def test_iteration_starts_at_the_callers_offset(fake: FakeClerk, clerk: AsyncClerk) -> None:
    users = [u async for u in clerk.users.list(limit=40, offset=9_950, order_by="created_at")]

    assert [u.id for u in users] == list(fake.users)[9_950:]
    assert offsets(fake) == ["9950", "9990"]  # 40 items, then a short page of 10


async def test_an_empty_listing_is_one_request_and_no_items(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    assert [u async for u in clerk.users.list(query="nobody by this name")] == []
    assert [o async for o in clerk.organizations.list(query="no such organization")] == []
    assert [r.path for r in fake.requests] == ["/v1/users", "/v1/organizations"]


async def test_without_a_limit_pages_are_clerks_default_size(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    count = 0
    async for _ in clerk.users.list(order_by="created_at"):
        count += 1
        if count == 25:
            break
    # Nothing is sent that the caller did not give, and 10 is taken as the page size.
    assert "limit" not in fake.requests[0].query
    assert offsets(fake)[:3] == [None, "10", "20"]


# -- one page --------------------------------------------------------------------------------------


async def test_awaiting_gives_one_page(fake: FakeClerk, clerk: AsyncClerk) -> None:
    page = await clerk.users.list(limit=3, order_by="created_at")

    assert isinstance(page, Page) and len(page) == 3
    assert [u.id for u in page] == list(fake.users)[:3]
    assert page[0].id == page.items[0].id and all(isinstance(u, User) for u in page)
    assert page.total_count is None and page.has_next and page.next_offset == 3
    assert page.raw is page.items
    assert "3 items at offset 0" in repr(page)
    assert len(fake.requests) == 1

    second = await page.next_page()
    assert second is not None and second.offset == 3
    assert [u.id for u in second] == list(fake.users)[3:6]


async def test_an_envelope_page_knows_the_total(fake: FakeClerk, clerk: AsyncClerk) -> None:
    page = await clerk.organizations.list(limit=400)
    assert page.total_count == 1_000 and len(page) == 400 and page.has_next
    last = await clerk.organizations.list(limit=400, offset=800)
    assert last.total_count == 1_000 and len(last) == 200 and not last.has_next
    assert await last.next_page() is None
    assert all(isinstance(o, Organization) for o in last)
    assert len(fake.requests) == 2


async def test_a_pager_sends_nothing_until_used(fake: FakeClerk, clerk: AsyncClerk) -> None:
    pager = clerk.users.list(limit=5)
    assert isinstance(pager, AsyncPager) and fake.requests == []
    first, again = await pager, await pager  # each await starts over
    assert [u.id for u in first] == [u.id for u in again]
    assert offsets(fake) == [None, None]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"limit": 0}, ValueError, "limit must be at least 1"),
        ({"limit": "10"}, TypeError, "limit must be an int, not str"),
        ({"limit": True}, TypeError, "limit must be an int, not bool"),
        ({"offset": -1}, ValueError, "offset must be at least 0"),
        ({"offset": 1.5}, TypeError, "offset must be an int, not float"),
    ],
)
def test_bad_counts_are_refused_at_the_call(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    clerk = AsyncClerk("sk_test_x")
    with pytest.raises(error, match=f"users.list: {message}"):
        clerk.users.list(**arguments)


# -- prefetch --------------------------------------------------------------------------------------


async def test_the_next_page_is_fetched_while_the_caller_works(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    fake.delay = 0.05
    pages = clerk.users.list(limit=100).pages()
    first = await anext(pages)
    # The caller has not asked for page 2, but its request is already at the server...
    await wait_until(lambda: len(fake.requests) == 2)
    assert offsets(fake) == [None, "100"]
    # ...and only that one: the prefetch stays one page ahead however slow the caller is.
    await asyncio.sleep(0.2)
    assert len(fake.requests) == 2
    second = await anext(pages)
    assert second.offset == 100 and [u.id for u in second] != [u.id for u in first]
    await wait_until(lambda: len(fake.requests) == 3)
    await pages.aclose()


async def test_without_prefetch_a_page_is_asked_for_only_when_needed(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    pages = clerk.users.list(limit=100).pages(prefetch=False)
    await anext(pages)
    await asyncio.sleep(0.1)
    assert len(fake.requests) == 1
    await anext(pages)
    assert offsets(fake) == [None, "100"]
    await pages.aclose()


async def test_leaving_early_cancels_the_prefetch_and_frees_the_connection(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    connector = clerk._pool.session().connector
    assert connector is not None
    seen = 0
    async for _ in clerk.users.list(limit=10):
        seen += 1
        if seen == 1:
            fake.delay = 2.0  # page 2 will take two seconds to come
            await wait_until(lambda: len(fake.requests) == 2)
            assert len(connector._acquired) == 1  # ...and is holding a connection meanwhile
        if seen == 3:
            break
    gc.collect()  # an abandoned generator is closed when collected
    # Well before page 2 could have come, its request is cancelled and its connection freed.
    await wait_until(lambda: len(connector._acquired) == 0, seconds=1.0)
    assert len(fake.requests) == 2


# -- failures --------------------------------------------------------------------------------------


def third_page(limit: int) -> Callable[[RecordedRequest], bool]:
    return lambda request: request.query.get("offset") == str(2 * limit)


async def test_an_error_on_page_three_is_raised_after_the_first_two_pages(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    fake.fail_next(500, when=third_page(100))
    seen: list[str] = []
    with pytest.raises(ServerError) as caught:
        async for user in clerk.users.list(limit=100, order_by="created_at"):
            seen.append(user.id)

    assert seen == list(fake.users)[:200]
    assert caught.value.status == 500 and caught.value.operation == "users.list"
    assert offsets(fake) == [None, "100", "200"]


async def test_a_later_page_is_retried_like_any_call(fake: FakeClerk) -> None:
    retry = RetryConfig(max_retries=2, initial_delay=0.001, jitter=None)
    async with AsyncClerk(fake.secret_key, server_url=fake.url, retry=retry) as clerk:
        fake.fail_next(503, times=2, when=third_page(500))
        count = sum([1 async for _ in clerk.users.list(limit=500)])
        assert count == USERS
        assert offsets(fake).count("1000") == 3  # two refusals, then the page

        fake.requests.clear()
        fake.fail_next(503, times=3, when=third_page(500))
        with pytest.raises(ServerError) as caught:
            async for _ in clerk.users.list(limit=500):
                pass
        assert caught.value.attempts == 3
        assert offsets(fake) == [None, "500", "1000", "1000", "1000"]


# -- the other object shape ------------------------------------------------------------------------


def token_json(number: int) -> dict[str, Any]:
    return {
        "object": "machine_to_machine_token",
        "id": f"mt_{number:03d}",
        "subject": "mch_1",
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "last_used_at": None,
        "created_at": 1_700_000_000_000 + number,
        "updated_at": 1_700_000_000_000 + number,
    }


async def test_an_answer_naming_its_array_otherwise_pages_the_same() -> None:
    tokens = [token_json(n) for n in range(25)]
    seen_offsets: list[str | None] = []

    async def list_tokens(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query["limit"])
        seen_offsets.append(request.query.get("offset"))
        return web.json_response(
            {"m2m_tokens": tokens[offset : offset + limit], "total_count": len(tokens)}
        )

    app = web.Application()
    app.router.add_get("/v1/m2m_tokens", list_tokens)
    async with serve(app) as url, AsyncClerk("sk_test_x", server_url=url + "/v1") as clerk:
        found = [t async for t in clerk.m2m.list_tokens(subject="mch_1", limit=10)]

    assert [t.id for t in found] == [t["id"] for t in tokens]
    assert all(isinstance(t, MachineToMachineToken) for t in found)
    assert seen_offsets == [None, "10", "20"]  # the total says 25: no fourth request


async def test_paginated_true_switches_a_bare_array_listing_to_the_object_shape() -> None:
    # Clerk answers these listings with a bare array, or with `data` and `total_count` when
    # asked with `paginated=true`; the pager reads either, and stops on the total.
    identifiers = [
        {"object": "allowlist_identifier", "id": f"alid_{n:02d}", "identifier": f"u{n}@example.com"}
        for n in range(23)
    ]
    queries: list[dict[str, str]] = []

    async def list_identifiers(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        offset, limit = int(request.query.get("offset", "0")), int(request.query["limit"])
        page = identifiers[offset : offset + limit]
        if request.query.get("paginated") == "true":
            return web.json_response({"data": page, "total_count": len(identifiers)})
        return web.json_response(page)

    app = web.Application()
    app.router.add_get("/v1/allowlist_identifiers", list_identifiers)
    async with serve(app) as url, AsyncClerk("sk_test_x", server_url=url + "/v1") as clerk:
        enveloped = await clerk.allowlist_identifiers.list(paginated=True, limit=10)
        assert isinstance(enveloped.raw, Paginated) and enveloped.total_count == 23
        assert [i.id for i in enveloped] == [f"alid_{n:02d}" for n in range(10)]
        every = [i.id async for i in clerk.allowlist_identifiers.list(paginated=True, limit=10)]
        bare = [i.id async for i in clerk.allowlist_identifiers.list(limit=10)]

    assert every == bare == [i["id"] for i in identifiers]
    paginated = [q for q in queries if q.get("paginated") == "true"]
    assert [q.get("offset") for q in paginated] == [None, None, "10", "20"]  # no 5th request
    assert [q.get("offset") for q in queries if "paginated" not in q] == [None, "10", "20"]
