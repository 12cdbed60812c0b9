"""The service's tests, offline: FakeClerk plays Clerk, through clerk_async's pytest plugin
(the fake_clerk and clerk fixtures need no conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from service import create_app

from clerk_async import AsyncClerk
from clerk_async.testing import FakeClerk, sign_webhook

pytestmark = [pytest.mark.asyncio, pytest.mark.fake_clerk(users=3)]


@pytest_asyncio.fixture
async def api(fake_clerk: FakeClerk, clerk: AsyncClerk) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(clerk, webhook_secret=fake_clerk.webhook_secret)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_me_needs_a_session(api: httpx.AsyncClient, fake_clerk: FakeClerk) -> None:
    user_id = next(iter(fake_clerk.users))
    response = await api.get("/me", headers=bearer(fake_clerk.session_token(user_id)))
    assert response.json() == {"id": user_id, "first_name": "Ada", "welcomed": False}
    assert (await api.get("/me")).status_code == 401
    expired = fake_clerk.session_token(user_id, expires_in=-60)
    assert (await api.get("/me", headers=bearer(expired))).json() == {"detail": "token-expired"}


async def test_members_of_the_active_organization(
    api: httpx.AsyncClient, fake_clerk: FakeClerk
) -> None:
    ada, grace, alan = fake_clerk.users
    [org_id] = fake_clerk.seed_organizations(1)
    fake_clerk.add_membership(org_id, ada, "org:admin")
    fake_clerk.add_membership(org_id, grace, "org:member")
    as_grace = fake_clerk.session_token(
        grace, org_id=org_id, org_permissions=["org:sys_memberships:read"]
    )
    members = await api.get("/org/members", headers=bearer(as_grace))
    assert sorted(members.json()) == sorted([ada, grace])
    no_org = fake_clerk.session_token(alan)
    assert (await api.get("/org/members", headers=bearer(no_org))).status_code == 403


async def test_reports_are_for_machines_with_the_scope(
    api: httpx.AsyncClient, fake_clerk: FakeClerk
) -> None:
    key = await fake_clerk.create_api_key("org_reporting", scopes=["reports:read"])
    assert (await api.get("/reports", headers=bearer(key))).json() == {
        "subject": "org_reporting",
        "reports": [],
    }
    narrow = await fake_clerk.create_m2m_token("mch_other", scopes=["billing:read"])
    assert (await api.get("/reports", headers=bearer(narrow))).status_code == 403
    await fake_clerk.revoke_token(key)
    assert (await api.get("/reports", headers=bearer(key))).status_code == 401
    session = fake_clerk.session_token(next(iter(fake_clerk.users)))
    assert (await api.get("/reports", headers=bearer(session))).status_code == 401


async def test_user_created_webhooks_welcome_the_user(
    api: httpx.AsyncClient, fake_clerk: FakeClerk
) -> None:
    user_id = next(iter(fake_clerk.users))
    event = {"object": "event", "type": "user.created", "data": {"id": user_id}}
    body, headers = sign_webhook(event, fake_clerk.webhook_secret)
    response = await api.post("/webhooks/clerk", content=body, headers=headers)
    assert response.json() == {"received": "user.created"}
    me = await api.get("/me", headers=bearer(fake_clerk.session_token(user_id)))
    assert me.json()["welcomed"] is True
    forged, forged_headers = sign_webhook(event, "whsec_" + "A" * 44)  # someone else's secret
    refused = await api.post("/webhooks/clerk", content=forged, headers=forged_headers)
    assert refused.status_code == 400
