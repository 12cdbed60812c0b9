"""FakeClerk, tested over real HTTP on 127.0.0.1.

Every answer the fake gives in these tests goes through ``Api.call``, which checks it against
the vendored OpenAPI spec: a 2xx body against the operation's declared response schema
(required fields, types, nullability, enums, no undeclared fields where the spec forbids them)
and an error body against ``ClerkErrors``. The SDK tests then check that the generated models
decode the same answers, and the last test runs examples/demo.py in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from clerk_async import AsyncClerk, NotFoundError, RetryConfig, ServerError
from clerk_async.models import JWKS, DeletedObject, Organization, Organizations, TotalCount, User
from clerk_async.testing import FakeClerk
from clerk_async.testing._spec_tables import BODY_FIELDS

from ._spec import KEY, Api, Checker, SpecMismatch

ROOT = Path(__file__).resolve().parents[2]
ID = re.compile(r"^(user|org|idn)_[0-9A-Za-z]{27}$")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # every byte value, CR and LF included


async def create_user(api: Api, **fields: Any) -> dict[str, Any]:
    user: dict[str, Any] = await api.ok("POST", "/users", json=fields)
    return user


# -- the checker itself ----------------------------------------------------------------------------


def test_checker_rejects_what_the_spec_forbids(spec: dict[str, Any]) -> None:
    # The schema checks below are only worth something if the checker can fail.
    checker = Checker(spec)
    good = {"object": "total_count", "total_count": 3}
    checker.check(checker.schema("TotalCount"), good)
    for bad in (
        {"object": "total_count"},
        {"object": "total_count", "total_count": "3"},
        {"object": "total_count", "total_count": True},
        {"object": "count", "total_count": 3},
        {**good, "extra": 1},
        {"object": "total_count", "total_count": None},
    ):
        with pytest.raises(SpecMismatch):
            checker.check(checker.schema("TotalCount"), bad)


# -- authentication and errors ---------------------------------------------------------------------


async def test_missing_or_malformed_authorization_is_401(api: Api) -> None:
    error = await api.error(401, "authorization_header_format_invalid", "GET", "/users", key=None)
    assert error["long_message"]
    for header in ("Basic abc", "Bearer", "Bearer "):
        async with api.session.get(
            api.fake.url + "/users", headers={"Authorization": header}
        ) as response:
            assert response.status == 401
            body = await response.json()
            assert body["errors"][0]["code"] == "authorization_header_format_invalid"


async def test_wrong_key_is_401_even_on_unknown_paths(api: Api) -> None:
    await api.error(401, "clerk_key_invalid", "GET", "/users", key="sk_test_other")
    await api.error(401, "clerk_key_invalid", "GET", "/domains", key="sk_test_other")
    assert len(api.fake.requests) == 2  # rejected requests are still recorded


async def test_unmodelled_operations_are_404_naming_the_operation(api: Api) -> None:
    error = await api.error(404, "resource_not_found", "GET", "/domains")
    assert "domains.list (GET /v1/domains)" in error["long_message"]
    error = await api.error(
        404,
        "resource_not_found",
        "POST",
        "/sessions/{session_id}/refresh",
        session_id="sess_1",
        json={"expired_token": "x", "refresh_token": "y", "request_origin": "z"},
    )
    assert "sessions.refresh (POST /v1/sessions/{session_id}/refresh)" in error["long_message"]
    error = await api.error(404, "resource_not_found", "PUT", "/users")  # known path, other method
    assert "PUT /v1/users is not an operation" in error["long_message"]


async def test_unknown_ids_are_resource_not_found(api: Api) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        json: dict[str, Any] | None = {} if method == "PATCH" else None
        error = await api.error(
            404, "resource_not_found", method, "/users/{user_id}", user_id="user_x", json=json
        )
        assert error["message"] == "not found"
    await api.error(
        404, "resource_not_found", "GET", "/organizations/{organization_id}", organization_id="nope"
    )


# -- users -----------------------------------------------------------------------------------------


async def test_create_get_update_delete_user(api: Api) -> None:
    before = int(time.time() * 1000)
    user = await create_user(
        api,
        email_address=["ada@example.com", "countess@example.com"],
        phone_number=["+15555550100"],
        first_name="Ada",
        last_name="Lovelace",
        username="ada_l",
        external_id="ext-1",
        password="correct horse battery",
        public_metadata={"plan": "pro"},
        private_metadata={"stripe": "cus_1"},
        unsafe_metadata={"theme": "dark"},
    )
    assert ID.match(user["id"]) and user["id"].startswith("user_")
    assert user["object"] == "user"
    assert [e["email_address"] for e in user["email_addresses"]] == [
        "ada@example.com",
        "countess@example.com",
    ]
    assert user["primary_email_address_id"] == user["email_addresses"][0]["id"]
    assert user["primary_phone_number_id"] == user["phone_numbers"][0]["id"]
    assert user["email_addresses"][0]["verification"]["status"] == "verified"
    assert (user["username"], user["external_id"], user["password_enabled"]) == (
        "ada_l",
        "ext-1",
        True,
    )
    assert user["public_metadata"] == {"plan": "pro"}
    assert user["private_metadata"] == {"stripe": "cus_1"}
    assert user["unsafe_metadata"] == {"theme": "dark"}
    assert before <= user["created_at"] == user["updated_at"] <= int(time.time() * 1000) + 1000
    assert user["banned"] is False

    fetched = await api.ok("GET", "/users/{user_id}", user_id=user["id"])
    assert fetched == user

    updated = await api.ok(
        "PATCH",
        "/users/{user_id}",
        user_id=user["id"],
        json={
            "first_name": "Augusta",
            "username": None,
            "primary_email_address_id": user["email_addresses"][1]["id"],
        },
    )
    assert (updated["first_name"], updated["last_name"], updated["username"]) == (
        "Augusta",
        "Lovelace",
        None,
    )
    assert updated["primary_email_address_id"] == user["email_addresses"][1]["id"]
    assert updated["updated_at"] > user["updated_at"]

    deleted = await api.ok("DELETE", "/users/{user_id}", user_id=user["id"])
    assert deleted == {"object": "user", "id": user["id"], "deleted": True}
    await api.error(404, "resource_not_found", "GET", "/users/{user_id}", user_id=user["id"])
    # The identifiers are free again once the user is gone.
    again = await create_user(
        api, email_address=["ada@example.com"], username="ada_l", external_id="ext-1"
    )
    assert again["id"] > user["id"]


async def test_create_user_validation(api: Api) -> None:
    await create_user(api, email_address=["taken@example.com"], username="taken")
    error = await api.error(
        422,
        "form_identifier_exists",
        "POST",
        "/users",
        json={"email_address": ["TAKEN@example.com"]},
    )
    assert error["meta"] == {"param_name": "email_address"}
    error = await api.error(
        422, "form_identifier_exists", "POST", "/users", json={"username": "Taken"}
    )
    assert error["meta"] == {"param_name": "username"}
    error = await api.error(
        422, "form_param_format_invalid", "POST", "/users", json={"email_address": ["not-an-email"]}
    )
    assert error["meta"] == {"param_name": "email_address"}
    error = await api.error(
        422, "form_param_format_invalid", "POST", "/users", json={"first_name": 7}
    )
    assert error["meta"] == {"param_name": "first_name"}
    error = await api.error(
        422, "form_param_format_invalid", "POST", "/users", json={"email_address": "a@b.co"}
    )
    assert error["meta"] == {"param_name": "email_address"}
    error = await api.error(
        422, "form_param_unknown", "POST", "/users", json={"emailAddress": ["a@b.co"]}
    )
    assert error["meta"] == {"param_name": "emailAddress"}
    await api.error(
        422, "form_password_length_too_short", "POST", "/users", json={"password": "short"}
    )
    await api.error(
        422,
        "form_param_value_invalid",
        "POST",
        "/users",
        json={
            "email_address": ["a@b.co", "c@d.co"],
            "email_address_identification_status": ["reserved"],
        },
    )
    await api.error(400, "request_body_invalid", "POST", "/users", data=b"{not json")
    await api.error(400, "request_body_invalid", "POST", "/users", data=b"[]")
    # Nothing was created by the failed attempts.
    assert len(api.fake.users) == 1


async def test_update_user_rejects_metadata_as_api_version_2026_05_12_does(api: Api) -> None:
    user = await create_user(api, first_name="Ada")
    error = await api.error(
        422,
        "form_param_unknown",
        "PATCH",
        "/users/{user_id}",
        user_id=user["id"],
        json={"public_metadata": {"a": 1}},
    )
    assert error["meta"] == {"param_name": "public_metadata"}
    other = await create_user(api, username="grace")
    await api.error(
        422,
        "form_identifier_exists",
        "PATCH",
        "/users/{user_id}",
        user_id=user["id"],
        json={"username": "GRACE"},
    )
    await api.error(
        422,
        "form_param_value_invalid",
        "PATCH",
        "/users/{user_id}",
        user_id=user["id"],
        json={"primary_email_address_id": "idn_missing"},
    )
    assert api.fake.users[other["id"]]["username"] == "grace"


async def test_reserved_addresses_are_unverified(api: Api) -> None:
    user = await create_user(
        api,
        email_address=["a@example.com", "b@example.com"],
        email_address_identification_status=["verified", "reserved"],
    )
    first, second = user["email_addresses"]
    assert (first["reserved"], second["reserved"]) == (False, True)
    assert second["verification"] is None


async def test_metadata_merge_is_deep_and_null_deletes(api: Api) -> None:
    user = await create_user(
        api,
        public_metadata={"plan": "pro", "limits": {"seats": 5, "storage": 10}, "tags": ["a"]},
        private_metadata={"keep": True},
    )
    merged = await api.ok(
        "PATCH",
        "/users/{user_id}/metadata",
        user_id=user["id"],
        json={
            "public_metadata": {
                "limits": {"seats": 8, "storage": None, "new": {"x": None, "y": 1}},
                "tags": ["b"],
                "plan": None,
            }
        },
    )
    assert merged["public_metadata"] == {"limits": {"seats": 8, "new": {"y": 1}}, "tags": ["b"]}
    assert merged["private_metadata"] == {"keep": True}  # fields not sent stay as they were
    assert merged["unsafe_metadata"] == {}
    replaced = await api.ok(
        "PUT",
        "/users/{user_id}/metadata",
        user_id=user["id"],
        json={"private_metadata": {"fresh": 1}},
    )
    assert replaced["private_metadata"] == {"fresh": 1}
    assert replaced["public_metadata"] == merged["public_metadata"]
    await api.error(
        422,
        "form_param_unknown",
        "PATCH",
        "/users/{user_id}/metadata",
        user_id=user["id"],
        json={"metadata": {}},
    )
    await api.error(
        422,
        "form_param_format_invalid",
        "PATCH",
        "/users/{user_id}/metadata",
        user_id=user["id"],
        json={"public_metadata": [1]},
    )


async def test_ban_and_unban(api: Api) -> None:
    user = await create_user(api, first_name="Ada")
    banned = await api.ok("POST", "/users/{user_id}/ban", user_id=user["id"])
    assert banned["banned"] is True
    count = await api.ok("GET", "/users/count", params={"banned": "true"})
    assert count == {"object": "total_count", "total_count": 1}
    unbanned = await api.ok("POST", "/users/{user_id}/unban", user_id=user["id"])
    assert unbanned["banned"] is False
    await api.error(
        404, "resource_not_found", "POST", "/users/{user_id}/ban", user_id="user_nobody"
    )


async def test_seeded_users_are_deterministic_and_ordered(api: Api) -> None:
    ids = api.fake.seed_users(20)
    assert ids == sorted(ids) and len(set(ids)) == 20 and all(ID.match(i) for i in ids)
    first = api.fake.users[ids[0]]
    assert (first["first_name"], first["last_name"], first["username"]) == (
        "Ada",
        "Lovelace",
        "user00001",
    )
    assert first["email_addresses"][0]["email_address"] == "user00001@example.com"
    created = [api.fake.users[i]["created_at"] for i in ids]
    assert created == sorted(created) and len(set(created)) == 20
    more = api.fake.seed_users(1)
    assert api.fake.users[more[0]]["username"] == "user00021" and more[0] > ids[-1]

    async with FakeClerk(KEY) as other:
        assert other.seed_users(20) == ids


async def test_list_users_pages_newest_first_by_default(api: Api) -> None:
    ids = api.fake.seed_users(1234)
    default = await api.ok("GET", "/users")
    assert [u["id"] for u in default] == ids[::-1][:10]
    seen: list[str] = []
    offset = 0
    while True:
        page = await api.ok("GET", "/users", params={"limit": 500, "offset": offset})
        seen += [u["id"] for u in page]
        offset += 500
        if len(page) < 500:
            break
    assert seen == ids[::-1]
    ascending = await api.ok(
        "GET", "/users", params={"order_by": "+created_at", "limit": 3, "offset": 2}
    )
    assert [u["id"] for u in ascending] == ids[2:5]
    plain = await api.ok("GET", "/users", params={"order_by": "created_at", "limit": 3})
    assert [u["id"] for u in plain] == ids[:3]  # no sign means ascending
    past_end = await api.ok("GET", "/users", params={"offset": 5000})
    assert past_end == []


async def test_list_users_cursor(api: Api) -> None:
    ids = api.fake.seed_users(25)
    page = await api.ok("GET", "/users", params={"limit": 10, "starting_after": ids[20]})
    assert [u["id"] for u in page] == ids[10:20][::-1]
    page = await api.ok(
        "GET", "/users", params={"limit": 10, "starting_after": ids[20], "order_by": "+created_at"}
    )
    assert [u["id"] for u in page] == ids[21:]
    await api.ok("DELETE", "/users/{user_id}", user_id=ids[5])
    page = await api.ok("GET", "/users", params={"limit": 3, "starting_after": ids[5]})
    assert [u["id"] for u in page] == ids[2:5][::-1]  # a deleted user's id still works as a cursor
    error = await api.error(
        422,
        "form_param_value_invalid",
        "GET",
        "/users",
        params={"starting_after": ids[3], "order_by": "first_name"},
    )
    assert error["meta"] == {"param_name": "starting_after"}
    await api.error(
        422,
        "form_param_value_invalid",
        "GET",
        "/users",
        params={"starting_after": ids[3], "offset": 1},
    )


async def test_list_users_parameter_validation(api: Api) -> None:
    for value, code in (
        ("0", "form_param_value_invalid"),
        ("501", "form_param_value_invalid"),
        ("ten", "form_param_format_invalid"),
    ):
        error = await api.error(422, code, "GET", "/users", params={"limit": value})
        assert error["meta"] == {"param_name": "limit"}
    await api.error(422, "form_param_value_invalid", "GET", "/users", params={"offset": "-1"})
    await api.error(
        422, "form_param_value_invalid", "GET", "/users", params={"order_by": "-shoe_size"}
    )
    await api.error(422, "form_param_format_invalid", "GET", "/users", params={"banned": "yes"})
    assert len(await api.ok("GET", "/users", params={"limit": 500})) == 0


async def test_list_users_order_by_other_fields(api: Api) -> None:
    zed = await create_user(api, first_name="Zed")
    nameless = await create_user(api)
    amy = await create_user(api, first_name="Amy")
    ascending = await api.ok("GET", "/users", params={"order_by": "first_name"})
    assert [u["id"] for u in ascending] == [amy["id"], zed["id"], nameless["id"]]
    descending = await api.ok("GET", "/users", params={"order_by": "-first_name"})
    assert [u["id"] for u in descending] == [zed["id"], amy["id"], nameless["id"]]  # no value: last


async def test_list_and_count_users_filters(api: Api) -> None:
    ada = await create_user(
        api,
        email_address=["ada@example.com"],
        first_name="Ada",
        last_name="Lovelace",
        username="countess",
        external_id="e-ada",
    )
    grace = await create_user(
        api, email_address=["grace@navy.mil"], first_name="Grace", last_name="Hopper"
    )
    alan = await create_user(
        api, email_address=["alan@example.com"], first_name="Alan", username="bombe"
    )

    async def ids(params: Any) -> list[str]:
        users = await api.ok("GET", "/users", params=params)
        count = await api.ok("GET", "/users/count", params=params)
        assert count["total_count"] == len(users)
        return [u["id"] for u in users]

    assert await ids(
        [("email_address", "ADA@example.com"), ("email_address", "alan@example.com")]
    ) == [alan["id"], ada["id"]]
    assert await ids([("user_id", grace["id"]), ("user_id", "+" + ada["id"])]) == [
        grace["id"],
        ada["id"],
    ]
    assert await ids([("user_id", "-" + grace["id"])]) == [alan["id"], ada["id"]]
    assert await ids({"query": "hopp"}) == [grace["id"]]
    assert await ids({"query": "EXAMPLE.com"}) == [alan["id"], ada["id"]]
    assert await ids({"query": "ada lovelace"}) == [ada["id"]]
    assert await ids({"username": "Bombe"}) == [alan["id"]]
    assert await ids({"external_id": "e-ada"}) == [ada["id"]]
    assert await ids({"name_query": "ALA"}) == [alan["id"]]
    assert await ids({"email_address_query": "navy"}) == [grace["id"]]
    assert await ids({"created_at_after": str(ada["created_at"])}) == [alan["id"], grace["id"]]
    assert await ids({"created_at_before": str(grace["created_at"])}) == [ada["id"]]
    assert await ids({"query": "nobody"}) == []


async def test_ten_thousand_users_page_quickly(fake: FakeClerk) -> None:
    started = time.perf_counter()
    fake.seed_users(10_000)
    headers = {"Authorization": f"Bearer {KEY}"}
    total = 0
    async with aiohttp.ClientSession(headers=headers) as session:
        cursor: str | None = None
        while True:
            params = {"limit": "500", **({"starting_after": cursor} if cursor else {})}
            async with session.get(fake.url + "/users", params=params) as response:
                page = msgspec.json.decode(await response.read())
            total += len(page)
            if len(page) < 500:
                break
            cursor = page[-1]["id"]
    assert total == 10_000
    # Seeding and 21 pages of 500 take well under a second on a laptop; the bound only
    # catches an accidental quadratic step.
    assert time.perf_counter() - started < 15


# -- organizations ---------------------------------------------------------------------------------


async def test_organization_lifecycle(api: Api) -> None:
    owner = await create_user(api, first_name="Ada")
    organization = await api.ok(
        "POST",
        "/organizations",
        json={
            "name": "Analytical Engines Ltd.",
            "created_by": owner["id"],
            "public_metadata": {"tier": "gold"},
            "private_metadata": {"crm": 1},
        },
    )
    assert ID.match(organization["id"]) and organization["id"].startswith("org_")
    assert organization["slug"] == "analytical-engines-ltd"
    assert organization["created_by"] == owner["id"]
    assert organization["public_metadata"] == {"tier": "gold"}
    assert organization["max_allowed_memberships"] == 5
    assert "members_count" not in organization

    by_slug = await api.ok(
        "GET", "/organizations/{organization_id}", organization_id="analytical-engines-ltd"
    )
    assert by_slug["id"] == organization["id"]
    counted = await api.ok(
        "GET",
        "/organizations/{organization_id}",
        organization_id=organization["id"],
        params={"include_members_count": "true"},
    )
    assert counted["members_count"] == 1

    updated = await api.ok(
        "PATCH",
        "/organizations/{organization_id}",
        organization_id=organization["id"],
        json={"name": "Engines", "slug": "engines", "max_allowed_memberships": 0},
    )
    assert (updated["name"], updated["slug"], updated["max_allowed_memberships"]) == (
        "Engines",
        "engines",
        0,
    )
    await api.error(
        404,
        "resource_not_found",
        "GET",
        "/organizations/{organization_id}",
        organization_id="analytical-engines-ltd",
    )
    await api.error(
        422,
        "form_param_unknown",
        "PATCH",
        "/organizations/{organization_id}",
        organization_id=organization["id"],
        json={"public_metadata": {}},
    )

    merged = await api.ok(
        "PATCH",
        "/organizations/{organization_id}/metadata",
        organization_id=organization["id"],
        json={"public_metadata": {"tier": None, "region": "eu"}},
    )
    assert merged["public_metadata"] == {"region": "eu"} and merged["private_metadata"] == {
        "crm": 1
    }
    replaced = await api.ok(
        "PUT",
        "/organizations/{organization_id}/metadata",
        organization_id=organization["id"],
        json={"private_metadata": {}},
    )
    assert replaced["private_metadata"] == {}

    deleted = await api.ok("DELETE", "/organizations/{organization_id}", organization_id="engines")
    assert deleted == {
        "object": "organization",
        "id": organization["id"],
        "slug": "engines",
        "deleted": True,
    }
    await api.error(
        404,
        "resource_not_found",
        "DELETE",
        "/organizations/{organization_id}",
        organization_id="engines",
    )


async def test_organization_validation(api: Api) -> None:
    first = await api.ok("POST", "/organizations", json={"name": "Acme"})
    second = await api.ok("POST", "/organizations", json={"name": "ACME!"})
    assert (first["slug"], second["slug"]) == ("acme", "acme-2")
    error = await api.error(
        422, "form_identifier_exists", "POST", "/organizations", json={"name": "X", "slug": "acme"}
    )
    assert error["meta"] == {"param_name": "slug"}
    await api.error(
        422,
        "organization_slug_invalid",
        "POST",
        "/organizations",
        json={"name": "X", "slug": "Not OK"},
    )
    await api.error(422, "form_param_missing", "POST", "/organizations", json={})
    await api.error(
        422, "form_param_format_invalid", "POST", "/organizations", json={"name": "<b>x</b>"}
    )
    await api.error(
        422,
        "form_param_value_invalid",
        "POST",
        "/organizations",
        json={"name": "X", "created_by": "user_nobody"},
    )
    await api.error(
        422,
        "form_param_value_invalid",
        "POST",
        "/organizations",
        json={"name": "X", "max_allowed_memberships": -1},
    )
    await api.error(
        422,
        "form_identifier_exists",
        "PATCH",
        "/organizations/{organization_id}",
        organization_id=second["id"],
        json={"slug": "acme"},
    )
    assert len(api.fake.organizations) == 2


async def test_list_organizations(api: Api) -> None:
    ids = api.fake.seed_organizations(12)
    owner = await create_user(api)
    mine = await api.ok(
        "POST", "/organizations", json={"name": "Zeta Works", "created_by": owner["id"]}
    )
    listing = await api.ok("GET", "/organizations")
    assert listing["total_count"] == 13
    assert [o["id"] for o in listing["data"]] == [mine["id"], *ids[::-1][:9]]
    page = await api.ok("GET", "/organizations", params={"limit": 5, "offset": 10})
    assert [o["id"] for o in page["data"]] == ids[:3][::-1] and page["total_count"] == 13
    found = await api.ok("GET", "/organizations", params={"query": "organization 0000"})
    assert found["total_count"] == 9
    exact = await api.ok("GET", "/organizations", params={"query": ids[4]})
    assert [o["id"] for o in exact["data"]] == [ids[4]]
    by_name = await api.ok("GET", "/organizations", params={"order_by": "-name", "limit": 2})
    assert [o["name"] for o in by_name["data"]] == ["Zeta Works", "Organization 00012"]
    members = await api.ok(
        "GET", "/organizations", params={"user_id": owner["id"], "include_members_count": "true"}
    )
    assert [(o["id"], o["members_count"]) for o in members["data"]] == [(mine["id"], 1)]
    await api.ok("DELETE", "/users/{user_id}", user_id=owner["id"])
    members = await api.ok("GET", "/organizations", params={"user_id": owner["id"]})
    assert members == {"data": [], "total_count": 0}
    await api.error(
        422, "form_param_value_invalid", "GET", "/organizations", params={"order_by": "slug"}
    )


# -- jwks, uploads, recording, concurrency, injected failures --------------------------------------


async def test_jwks_serves_the_configured_keys_and_counts_fetches(api: Api) -> None:
    own = await api.ok("GET", "/jwks")
    assert [(k["kty"], k["alg"], k["use"]) for k in own["keys"]] == [("RSA", "RS256", "sig")]
    key = {"kty": "RSA", "kid": "ins_1", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"}
    api.fake.jwks = [key]
    assert await api.ok("GET", "/jwks") == {"keys": [key]}
    assert api.fake.jwks_fetches == 2
    await api.error(401, "clerk_key_invalid", "GET", "/jwks", key="sk_wrong")
    assert api.fake.jwks_fetches == 2


async def test_profile_image_and_logo_uploads(api: Api) -> None:
    user = await create_user(api, first_name="Ada")
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="ada.png", content_type="image/png")
    updated = await api.ok("POST", "/users/{user_id}/profile_image", user_id=user["id"], data=form)
    assert updated["has_image"] is True and updated["image_url"] != user["image_url"]
    (upload,) = api.fake.uploads
    assert (upload.target_id, upload.filename, upload.content_type, upload.content) == (
        user["id"],
        "ada.png",
        "image/png",
        PNG,
    )
    cleared = await api.ok("DELETE", "/users/{user_id}/profile_image", user_id=user["id"])
    assert cleared["has_image"] is False

    organization = await api.ok("POST", "/organizations", json={"name": "Acme"})
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="logo.png", content_type="image/png")
    with_logo = await api.ok(
        "PUT",
        "/organizations/{organization_id}/logo",
        organization_id=organization["id"],
        data=form,
    )
    assert with_logo["has_image"] is True and with_logo["logo_url"] == with_logo["image_url"]

    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    await api.error(
        400,
        "unsupported_content_type",
        "POST",
        "/users/{user_id}/profile_image",
        user_id=user["id"],
        data=form,
    )
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.png", content_type="image/png")
    await api.error(
        422,
        "form_param_missing",
        "POST",
        "/users/{user_id}/profile_image",
        user_id=user["id"],
        data=form,
    )
    await api.error(
        400,
        "request_body_invalid",
        "POST",
        "/users/{user_id}/profile_image",
        user_id=user["id"],
        json={"file": "x"},
    )


async def test_requests_are_recorded_as_sent(api: Api) -> None:
    await api.call("POST", "/users", json={"first_name": "Ada"}, params=[("x", "1"), ("x", "2")])
    await api.call("GET", "/users", key="wrong")
    first, second = api.fake.requests
    assert (first.method, first.path) == ("POST", "/v1/users")
    assert first.query.getall("x") == ["1", "2"]
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert first.json() == {"first_name": "Ada"}
    assert (second.method, second.body, second.json()) == ("GET", b"", None)


async def test_max_in_flight_counts_overlapping_requests(api: Api) -> None:
    await api.ok("GET", "/users")
    await api.ok("GET", "/users/count")
    assert api.fake.max_in_flight == 1  # one after the other
    api.fake.delay = 0.3
    results = await asyncio.gather(*(api.call("GET", "/users") for _ in range(20)))
    assert [status for status, _ in results] == [200] * 20
    assert api.fake.max_in_flight == 20


async def test_fail_next_injects_clerk_shaped_failures(api: Api) -> None:
    api.fake.fail_next(503, times=2, headers={"Retry-After": "1"})
    api.fake.fail_next(429, code="rate_limit_exceeded")
    for _ in range(2):
        async with api.session.get(
            api.fake.url + "/users", headers={"Authorization": f"Bearer {KEY}"}
        ) as response:
            assert response.status == 503 and response.headers["Retry-After"] == "1"
    await api.error(429, "rate_limit_exceeded", "GET", "/users")
    assert await api.ok("GET", "/users") == []
    await api.error(401, "clerk_key_invalid", "GET", "/users", key="wrong")  # auth comes first
    with pytest.raises(ValueError):
        api.fake.fail_next(500, times=0)


async def test_lifecycle() -> None:
    fake = FakeClerk()
    with pytest.raises(RuntimeError):
        _ = fake.url
    await fake.start()
    try:
        with pytest.raises(RuntimeError):
            await fake.start()
        url = fake.url
        assert re.match(r"^http://127\.0\.0\.1:\d+/v1$", url)
    finally:
        await fake.close()
    await fake.close()  # closing twice is harmless
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(url + "/users"):
                pass


# -- the spec and the fake agree on request bodies -------------------------------------------------


def test_the_spec_tables_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.fake_clerk_tables", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("method", "template", "operation"),
    [
        ("post", "/users", "users.create"),
        ("patch", "/users/{user_id}", "users.update"),
        ("patch", "/users/{user_id}/metadata", "users.update_metadata"),
        ("put", "/users/{user_id}/metadata", "users.replace_metadata"),
        ("post", "/organizations", "organizations.create"),
        ("patch", "/organizations/{organization_id}", "organizations.update"),
        ("patch", "/organizations/{organization_id}/metadata", "organizations.merge_metadata"),
        ("put", "/organizations/{organization_id}/metadata", "organizations.replace_metadata"),
    ],
)
def test_accepted_body_fields_match_the_spec(
    spec: dict[str, Any], method: str, template: str, operation: str
) -> None:
    checker = Checker(spec)
    fields = BODY_FIELDS[operation]
    body = spec["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"]
    properties = checker.resolve(body)["properties"]
    assert set(fields) == set(properties)
    names = {
        "string": "str",
        "integer": "int",
        "boolean": "bool",
        "object": "object",
        "array": "strings",
    }
    for name, schema in properties.items():
        schema = checker.resolve(schema)
        expected = names[schema["type"]] + ("?" if schema.get("nullable") else "")
        assert fields[name] == expected, name


# -- the SDK against the fake ----------------------------------------------------------------------


async def test_sdk_models_decode_the_fakes_answers(fake: FakeClerk) -> None:
    fake.seed_users(3)
    async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url) as clerk:
        user = await clerk.users.create(
            email_address=["ada@example.com"], first_name="Ada", public_metadata={"a": {"b": 1}}
        )
        assert isinstance(user, User) and user.first_name == "Ada"
        assert user.email_addresses[0].email_address == "ada@example.com"
        raw = msgspec.json.encode(fake.users[user.id])
        assert msgspec.json.decode(raw, type=User) == user

        user = await clerk.users.update_metadata(
            user.id, public_metadata={"a": {"b": None, "c": 2}}
        )
        assert user.public_metadata == {"a": {"c": 2}}
        users = await clerk.users.list(limit=2)
        assert [u.id for u in users] == [user.id, users[1].id]
        count = await clerk.users.count()
        assert isinstance(count, TotalCount) and count.total_count == 4

        organization = await clerk.organizations.create(name="Acme", created_by=user.id)
        assert isinstance(organization, Organization) and organization.slug == "acme"
        listing = await clerk.organizations.list(limit=5, include_members_count=True)
        assert isinstance(listing.raw, Organizations) and listing.total_count == 1
        assert listing[0].members_count == 1 and not listing.has_next
        assert (await clerk.organizations.get("acme")).id == organization.id

        fake.jwks = [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": "k1",
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
        jwks = await clerk.jwks.get_jwks()
        assert isinstance(jwks, JWKS) and jwks.keys is not None and len(jwks.keys) == 1

        deleted = await clerk.users.delete(user.id)
        assert isinstance(deleted, DeletedObject) and deleted.deleted
        with pytest.raises(NotFoundError) as caught:
            await clerk.users.get(user.id)
        assert caught.value.code == "resource_not_found" and caught.value.clerk_trace_id


async def test_sdk_retries_injected_failures(fake: FakeClerk) -> None:
    retry = RetryConfig(max_retries=2, initial_delay=0.01, jitter=None)
    async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url, retry=retry) as clerk:
        fake.fail_next(503, times=2)
        assert (await clerk.users.list()).items == []
        assert len(fake.requests) == 3
        fake.fail_next(503, times=3)
        with pytest.raises(ServerError) as caught:
            await clerk.users.list()
        assert caught.value.status == 503 and caught.value.attempts == 3


async def test_sdk_multipart_upload(fake: FakeClerk) -> None:
    async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url) as clerk:
        user = await clerk.users.create(first_name="Ada")
        user = await clerk.users.set_profile_image(user.id, file=PNG)
        assert user.has_image is True
        (upload,) = fake.uploads
        assert (upload.content_type, upload.content) == ("image/png", PNG)


# -- the demo --------------------------------------------------------------------------------------


def test_demo_runs_offline() -> None:
    env = {name: value for name, value in os.environ.items() if name != "CLERK_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "running against FakeClerk at http://127.0.0.1:" in out
    for label in (
        "users.create",
        "users.get",
        "users.update",
        "users.list",
        "organizations.create",
        "users.delete",
    ):
        assert re.search(rf"^  {re.escape(label)}\s+\S", out, re.MULTILINE), label
    assert "first_name is now 'Augusta Ada'" in out
    assert "users.list, all pages  51 users in 3 requests" in out  # 50 seeded + Ada, 20 a page
    assert re.search(r"deleted=True", out)
    assert re.search(r"^50 concurrent users\.get calls: 50 succeeded in \d+ ms", out, re.MULTILINE)
    assert out.rstrip().endswith("done")
    assert result.stderr == ""


async def run_live_demo(fake: FakeClerk, secret_key: str) -> tuple[int | None, str, str]:
    """The demo's tour for a real instance, pointed at the fake through CLERK_API_URL."""
    env = {
        **os.environ,
        "CLERK_SECRET_KEY": secret_key,
        "CLERK_API_URL": fake.url.removesuffix("/v1"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(ROOT / "examples" / "demo.py"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_demo_read_only_tour_with_a_key(fake: FakeClerk) -> None:
    fake.seed_users(7)
    fake.seed_organizations(2)
    returncode, out, err = await run_live_demo(fake, fake.secret_key)
    assert returncode == 0, err
    assert f"read-only calls against {fake.url}" in out
    assert re.search(r"^  users\.count\s+7 users$", out, re.MULTILINE)
    assert re.search(r"^  users\.list\s+the 5 newest users:$", out, re.MULTILINE)
    newest = list(fake.users)[-5:][::-1]
    listed = re.findall(r"^\s+(user_\w+)\s+\S", out, re.MULTILINE)
    assert listed == newest
    assert re.search(r"^  organizations\.list\s+2 organizations, the 2 newest:$", out, re.MULTILINE)
    assert "Organization 00002 (organization-00002)" in out
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/v1/users/count"),
        ("GET", "/v1/users"),
        ("GET", "/v1/organizations"),
    ]


async def test_demo_reports_a_rejected_key(fake: FakeClerk) -> None:
    returncode, _, err = await run_live_demo(fake, "sk_test_wrong")
    assert returncode == 1
    assert "failed: users.count - HTTP 401 - clerk_key_invalid" in err
