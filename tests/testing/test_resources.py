"""The newer modelled routes: every answer checked against the spec's schema, then decoded by
the SDK's models through a real client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clerk_async import AsyncClerk, ClerkAPIError, NotFoundError
from clerk_async.testing import FakeClerk

from ._spec import Api


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(fake.secret_key, server_url=fake.url, retry=False) as client:
        yield client


async def make_org(api: Api, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    owner = await api.ok("POST", "/users", json={"first_name": "Owner"})
    org = await api.ok(
        "POST", "/organizations", json={"name": "Acme", "created_by": owner["id"], **fields}
    )
    return owner, org


async def test_memberships_lifecycle(api: Api) -> None:
    owner, org = await make_org(api)
    member = await api.ok("POST", "/users", json={"first_name": "Grace"})
    path = "/organizations/{organization_id}/memberships"
    created = await api.ok(
        "POST",
        path,
        organization_id=org["id"],
        json={"user_id": member["id"], "role": "org:member"},
    )
    assert (created["role"], created["permissions"]) == ("org:member", ["org:sys_memberships:read"])
    assert created["public_user_data"]["user_id"] == member["id"]
    assert created["organization"]["id"] == org["id"]
    await api.error(
        422,
        "already_a_member_in_organization",
        "POST",
        path,
        organization_id=org["id"],
        json={"user_id": member["id"], "role": "org:member"},
    )
    await api.error(
        422,
        "form_param_value_invalid",
        "POST",
        path,
        organization_id=org["id"],
        json={"user_id": owner["id"], "role": "org:owner"},
    )
    listed = await api.ok("GET", path, organization_id=org["id"])
    assert listed["total_count"] == 2
    assert [m["public_user_data"]["user_id"] for m in listed["data"]] == [member["id"], owner["id"]]

    updated = await api.ok(
        "PATCH",
        path + "/{user_id}",
        organization_id=org["id"],
        user_id=member["id"],
        json={"role": "org:admin"},
    )
    assert updated["role"] == "org:admin" and "org:sys_memberships:manage" in updated["permissions"]
    mine = await api.ok("GET", "/users/{user_id}/organization_memberships", user_id=member["id"])
    assert [m["organization"]["id"] for m in mine["data"]] == [org["id"]]

    deleted = await api.ok(
        "DELETE", path + "/{user_id}", organization_id=org["id"], user_id=member["id"]
    )
    assert deleted["id"] == updated["id"]
    assert (await api.ok("GET", "/users/{user_id}/organization_memberships", user_id=member["id"]))[
        "total_count"
    ] == 0
    await api.error(
        404,
        "resource_not_found",
        "DELETE",
        path + "/{user_id}",
        organization_id=org["id"],
        user_id=member["id"],
    )


async def test_membership_quota_and_custom_roles(api: Api) -> None:
    _, org = await make_org(api, max_allowed_memberships=1)
    other = await api.ok("POST", "/users", json={})
    error = await api.error(
        403,
        "organization_membership_quota_exceeded",
        "POST",
        "/organizations/{organization_id}/memberships",
        organization_id=org["id"],
        json={"user_id": other["id"], "role": "org:member"},
    )
    assert "at most 1" in error["long_message"]
    api.fake.roles["org:billing"] = ("org:billing:read",)
    _, roomy = await make_org(api, slug="roomy")
    added = await api.ok(
        "POST",
        "/organizations/{organization_id}/memberships",
        organization_id=roomy["id"],
        json={"user_id": other["id"], "role": "org:billing"},
    )
    assert added["permissions"] == ["org:billing:read"]


async def test_sessions(api: Api) -> None:
    user = await api.ok("POST", "/users", json={})
    session = await api.ok("POST", "/sessions", json={"user_id": user["id"]})
    assert (session["status"], session["user_id"]) == ("active", user["id"])
    assert await api.ok("GET", "/sessions/{session_id}", session_id=session["id"]) == session
    second = await api.ok("POST", "/sessions", json={"user_id": user["id"]})
    assert [s["id"] for s in await api.ok("GET", "/sessions", params={"user_id": user["id"]})] == [
        second["id"],
        session["id"],
    ]
    revoked = await api.ok("POST", "/sessions/{session_id}/revoke", session_id=session["id"])
    assert revoked["status"] == "revoked"
    active = await api.ok("GET", "/sessions", params={"user_id": user["id"], "status": "active"})
    assert [s["id"] for s in active] == [second["id"]]
    # The spec knows only the bare array; paginated=true wraps it as the SDK's pager expects.
    async with api.session.get(
        api.fake.url + "/sessions",
        params={"user_id": user["id"], "paginated": "true", "limit": "1"},
        headers={"Authorization": f"Bearer {api.fake.secret_key}"},
    ) as response:
        paged = await response.json()
    assert paged["total_count"] == 2 and len(paged["data"]) == 1
    api.checker.check(api.checker.schema("Session"), paged["data"][0])
    token = await api.ok("POST", "/sessions/{session_id}/tokens", session_id=second["id"], json={})
    assert token["object"] == "token" and token["jwt"].count(".") == 2
    await api.error(422, "form_param_missing", "GET", "/sessions")
    await api.error(404, "resource_not_found", "GET", "/sessions/{session_id}", session_id="sess_x")


async def test_invitations(api: Api) -> None:
    invitation = await api.ok(
        "POST",
        "/invitations",
        json={"email_address": "new@example.com", "public_metadata": {"a": 1}},
    )
    assert (invitation["status"], invitation["public_metadata"]) == ("pending", {"a": 1})
    await api.error(
        422, "duplicate_record", "POST", "/invitations", json={"email_address": "NEW@example.com"}
    )
    await api.ok("POST", "/users", json={"email_address": ["taken@example.com"]})
    await api.error(
        422,
        "form_param_value_invalid",
        "POST",
        "/invitations",
        json={"email_address": "taken@example.com"},
    )
    assert [i["id"] for i in await api.ok("GET", "/invitations")] == [invitation["id"]]
    revoked = await api.ok(
        "POST", "/invitations/{invitation_id}/revoke", invitation_id=invitation["id"]
    )
    assert (revoked["status"], revoked["revoked"]) == ("revoked", True)
    assert await api.ok("GET", "/invitations", params={"status": "pending"}) == []
    await api.error(
        400,
        "invitation_not_pending",
        "POST",
        "/invitations/{invitation_id}/revoke",
        invitation_id=invitation["id"],
    )


async def test_organization_invitations(api: Api) -> None:
    owner, org = await make_org(api)
    path = "/organizations/{organization_id}/invitations"
    invitation = await api.ok(
        "POST",
        path,
        organization_id=org["id"],
        json={
            "email_address": "x@example.com",
            "role": "org:member",
            "inviter_user_id": owner["id"],
        },
    )
    assert invitation["public_inviter_data"]["user_id"] == owner["id"]
    assert (await api.ok("GET", "/organizations/{organization_id}", organization_id=org["id"]))[
        "pending_invitations_count"
    ] == 1
    got = await api.ok(
        "GET", path + "/{invitation_id}", organization_id=org["id"], invitation_id=invitation["id"]
    )
    assert got == invitation
    listed = await api.ok("GET", path, organization_id=org["id"], params={"status": "pending"})
    assert listed["total_count"] == 1
    revoked = await api.ok(
        "POST",
        path + "/{invitation_id}/revoke",
        organization_id=org["id"],
        invitation_id=invitation["id"],
        json={},
    )
    assert revoked["status"] == "revoked"
    assert (await api.ok("GET", path, organization_id=org["id"], params={"status": "pending"}))[
        "total_count"
    ] == 0


async def test_email_addresses(api: Api) -> None:
    user = await api.ok("POST", "/users", json={"email_address": ["first@example.com"]})
    added = await api.ok(
        "POST",
        "/email_addresses",
        json={"user_id": user["id"], "email_address": "second@example.com", "verified": False},
    )
    assert added["verification"] is None
    await api.error(
        422,
        "form_param_value_invalid",
        "PATCH",
        "/email_addresses/{email_address_id}",
        email_address_id=added["id"],
        json={"primary": True},
    )
    verified = await api.ok(
        "PATCH",
        "/email_addresses/{email_address_id}",
        email_address_id=added["id"],
        json={"verified": True, "primary": True},
    )
    assert verified["verification"]["status"] == "verified"
    fetched = await api.ok("GET", "/users/{user_id}", user_id=user["id"])
    assert fetched["primary_email_address_id"] == added["id"]
    await api.error(
        422,
        "form_identifier_exists",
        "POST",
        "/email_addresses",
        json={"user_id": user["id"], "email_address": "FIRST@example.com"},
    )
    deleted = await api.ok(
        "DELETE", "/email_addresses/{email_address_id}", email_address_id=added["id"]
    )
    assert deleted == {"object": "email_address", "id": added["id"], "deleted": True}
    fetched = await api.ok("GET", "/users/{user_id}", user_id=user["id"])
    assert fetched["primary_email_address_id"] == user["email_addresses"][0]["id"]
    await api.error(
        404,
        "resource_not_found",
        "GET",
        "/email_addresses/{email_address_id}",
        email_address_id=added["id"],
    )


async def test_machine_token_routes(api: Api) -> None:
    key = await api.ok(
        "POST", "/api_keys", json={"name": "ci", "subject": "user_1", "scopes": ["read"]}
    )
    assert key["secret"].startswith("ak_")
    verified = await api.ok("POST", "/api_keys/verify", json={"secret": key["secret"]})
    assert (verified["id"], verified["revoked"], verified["expired"]) == (key["id"], False, False)
    await api.ok(
        "POST",
        "/api_keys/{apiKeyID}/revoke",
        apiKeyID=key["id"],
        json={"revocation_reason": "leaked"},
    )
    verified = await api.ok("POST", "/api_keys/verify", json={"secret": key["secret"]})
    assert (verified["revoked"], verified["revocation_reason"]) == (True, "leaked")
    await api.error(
        404, "resource_not_found", "POST", "/api_keys/verify", json={"secret": "ak_nope"}
    )

    m2m = await api.fake.create_m2m_token("mch_1", expires_in=-5)
    answer = await api.ok("POST", "/m2m_tokens/verify", json={"token": m2m})
    assert (answer["subject"], answer["expired"]) == ("mch_1", True)
    oat = await api.fake.create_oauth_token("user_1", client_id="client_9")
    answer = await api.ok(
        "POST", "/oauth_applications/access_tokens/verify", json={"access_token": oat}
    )
    assert (answer["client_id"], answer["subject"]) == ("client_9", "user_1")
    # A token of one kind is not found by another kind's route.
    await api.error(404, "resource_not_found", "POST", "/m2m_tokens/verify", json={"token": oat})


async def test_the_sdk_decodes_every_new_answer(fake: FakeClerk, clerk: AsyncClerk) -> None:
    owner = await clerk.users.create(email_address=["o@example.com"])
    org = await clerk.organizations.create(name="Acme", created_by=owner.id)
    member = await clerk.users.create(first_name="Grace")
    membership = await clerk.organization_memberships.create(
        org.id, user_id=member.id, role="org:member"
    )
    assert membership.public_user_data is not None
    assert membership.public_user_data.user_id == member.id
    page = await clerk.organization_memberships.list(org.id)
    assert {m.role for m in page.items} == {"org:admin", "org:member"}
    assert (await clerk.users.get_organization_memberships(member.id)).total_count == 1
    await clerk.organization_memberships.update(org.id, member.id, role="org:admin")
    await clerk.organization_memberships.delete(org.id, member.id)

    session = await clerk.sessions.create(user_id=owner.id)
    assert [s.id for s in await clerk.sessions.list(user_id=owner.id)] == [session.id]
    invitation = await clerk.invitations.create(email_address="i@example.com")
    assert (await clerk.invitations.revoke(invitation.id)).status == "revoked"
    org_invitation = await clerk.organization_invitations.create(
        org.id, email_address="j@example.com", role="org:member"
    )
    assert (
        await clerk.organization_invitations.get(org.id, org_invitation.id)
    ).role == "org:member"
    email = await clerk.email_addresses.create(user_id=owner.id, email_address="p@example.com")
    assert email.id is not None
    assert (await clerk.email_addresses.get(email.id)).email_address == "p@example.com"
    key = await clerk.api_keys.create(name="ci", subject=owner.id)
    assert (await clerk.api_keys.verify(secret=key.secret)).subject == owner.id
    with pytest.raises(NotFoundError):
        await clerk.api_keys.verify(secret="ak_unknown")
    with pytest.raises(ClerkAPIError) as unmodelled:
        await clerk.domains.list()
    assert "domains.list" in str(unmodelled.value.errors[0].long_message)
