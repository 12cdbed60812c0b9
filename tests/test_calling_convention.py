"""The rules every generated method follows, checked on the wire against a recording server."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import typing
import warnings
from collections.abc import Awaitable
from pathlib import Path

import msgspec
import pytest

from clerk_async import AsyncClerk, ClerkConfigurationError, ClerkDecodeError, __version__
from clerk_async.models import User

from ._support import user_json
from .conftest import SECRET, RecordingServer

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def sent(call: Awaitable[object]) -> None:
    """Await a call whose answer (the server's default `{}`) is beside the point of the test."""
    with contextlib.suppress(ClerkDecodeError):
        await call


async def test_headers_identify_the_sdk_and_authenticate(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users/user_1", user_json("user_1"))
    await clerk.users.get("user_1")
    headers = server.last.headers
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Clerk-API-Version"] == "2026-05-12"
    assert headers["User-Agent"].startswith(f"clerk_async/{__version__} ")


async def test_path_parameters_are_positional_or_keyword_and_escaped(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    await sent(clerk.organization_memberships.delete("org_1", "user/../x y"))
    assert server.last.method == "DELETE"
    assert server.last.path == "/v1/organizations/org_1/memberships/user%2F..%2Fx%20y"
    await sent(clerk.organization_memberships.delete(organization_id="org_2", user_id="user_2"))
    assert server.last.path == "/v1/organizations/org_2/memberships/user_2"


async def test_camel_case_path_parameters_have_snake_case_names(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    await sent(clerk.api_keys.get(api_key_id="ak_1"))
    assert server.last.path == "/v1/api_keys/ak_1"
    await sent(clerk.admin_portal_link_tokens.revoke(admin_portal_link_token_id="aplt_1"))
    assert server.last.path == "/v1/admin_portal_link_tokens/aplt_1/revoke"


@pytest.mark.parametrize("bad", ["", None, 5])
async def test_bad_path_parameter_is_rejected_before_any_request(
    server: RecordingServer, clerk: AsyncClerk, bad: object
) -> None:
    with pytest.raises((ValueError, TypeError), match="user_id"):
        await clerk.users.get(bad)  # type: ignore[arg-type]
    assert server.requests == []


async def test_query_arrays_repeat_and_booleans_are_lowercase(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users", [user_json()])
    await clerk.users.list(email_address=["a@x.com", "b@x.com"], banned=True, limit=5, offset=0)
    query = server.last.query
    assert [v for k, v in query if k == "email_address"] == ["a@x.com", "b@x.com"]
    assert sorted(p for p in query if p[0] != "email_address") == [
        ("banned", "true"),
        ("limit", "5"),
        ("offset", "0"),
    ]


async def test_unset_arguments_are_not_sent(server: RecordingServer, clerk: AsyncClerk) -> None:
    server.reply("/v1/users", [])
    await clerk.users.list()
    assert server.last.query == []
    server.reply("/v1/users/user_1", user_json("user_1"))
    await clerk.users.update("user_1", first_name="Grace")
    assert server.last.json() == {"first_name": "Grace"}
    assert server.last.content_type == "application/json"


async def test_none_is_sent_as_null_to_clear_a_field(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users/user_1", user_json("user_1"))
    await clerk.users.update("user_1", last_name=None, external_id=None)
    assert server.last.json() == {"last_name": None, "external_id": None}


async def test_required_body_with_no_fields_still_sends_an_empty_object(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users/user_1", user_json("user_1"))
    await clerk.users.update("user_1")
    assert server.last.body == b"{}"


async def test_optional_body_with_no_fields_sends_no_body(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    await sent(clerk.users.unban("user_1"))
    assert server.last.body == b""


async def test_array_body_is_one_positional_argument(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/invitations/bulk", [])
    await clerk.invitations.bulk_create(
        [{"email_address": "a@x.com"}, {"email_address": "b@x.com", "public_metadata": {"k": 1}}]
    )
    assert server.last.json() == [
        {"email_address": "a@x.com"},
        {"email_address": "b@x.com", "public_metadata": {"k": 1}},
    ]
    server.reply("/v1/waitlist_entries/bulk", [])
    await clerk.waitlist_entries.bulk_create([{"email_address": "c@x.com", "notify": False}])
    assert server.last.json() == [{"email_address": "c@x.com", "notify": False}]
    server.reply("/v1/organizations/org_1/invitations/bulk", {"data": [], "total_count": 0})
    await clerk.organization_invitations.bulk_create(
        "org_1", [{"email_address": "d@x.com", "role": "org:member"}]
    )
    assert server.last.path == "/v1/organizations/org_1/invitations/bulk"
    assert server.last.json() == [{"email_address": "d@x.com", "role": "org:member"}]


async def test_nested_objects_accept_a_struct_or_a_dict(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    from clerk_async.models import CreateBulkInvitationsItem

    server.reply("/v1/invitations/bulk", [])
    struct = CreateBulkInvitationsItem(email_address="a@x.com", notify=False)
    await clerk.invitations.bulk_create([struct, {"email_address": "b@x.com"}])
    assert server.last.json() == [
        {"email_address": "a@x.com", "notify": False},
        {"email_address": "b@x.com"},
    ]


@pytest.mark.parametrize("kind", ["bytes", "file", "path", "tuple"])
async def test_multipart_upload_accepts_bytes_file_path_or_tuple(
    server: RecordingServer, clerk: AsyncClerk, tmp_path: Path, kind: str
) -> None:
    server.reply("/v1/users/user_1/profile_image", user_json("user_1"))
    path = tmp_path / "avatar.png"
    path.write_bytes(PNG)
    value: object = {
        "bytes": PNG,
        "file": io.BytesIO(PNG),
        "path": path,
        "tuple": ("me.png", PNG, "image/png"),
    }[kind]
    await clerk.users.set_profile_image("user_1", file=value)  # type: ignore[arg-type]
    request = server.last
    assert request.content_type == "multipart/form-data"
    body = request.body
    assert b'name="file"' in body
    assert b"Content-Type: image/png" in body
    assert b'filename="' in body
    assert PNG in body


async def test_multipart_form_fields_travel_beside_the_file(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/organizations/org_1/logo", {})
    await sent(clerk.organizations.upload_logo("org_1", file=PNG, uploader_user_id="user_9"))
    body = server.last.body
    assert server.last.method == "PUT"
    assert b'name="uploader_user_id"' in body and b"user_9" in body


async def test_deprecated_operations_warn_at_the_callers_line(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/templates/email/welcome/preview", {"subject": "Hi"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await clerk.templates.preview("email", "welcome")
    assert [w.category for w in caught] == [DeprecationWarning]
    assert caught[0].filename == __file__
    assert "templates.preview is deprecated" in str(caught[0].message)
    assert "Deprecated" in (type(clerk.templates).preview.__doc__ or "")


async def test_a_deprecated_listing_warns_once_at_the_callers_line(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    client: dict[str, object] = {
        "object": "client",
        "id": "client_1",
        "session_ids": [],
        "sessions": [],
        "sign_in_id": None,
        "sign_up_id": None,
        "last_active_session_id": None,
        "last_authentication_strategy": None,
        "updated_at": 1,
        "created_at": 1,
    }
    server.reply("/v1/clients", [client, client])  # always a full page of 2: iteration goes on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = 0
        async for _ in clerk.clients.list(limit=2):  # every page fetch, prefetches included
            seen += 1
            if seen == 6:
                break
    assert len(server.requests) >= 3
    assert [w.category for w in caught] == [DeprecationWarning]
    assert caught[0].filename == __file__
    assert "clients.list is deprecated" in str(caught[0].message)


async def test_extra_headers_and_client_headers_are_sent(server: RecordingServer) -> None:
    async with AsyncClerk(SECRET, server_url=server.url, headers={"X-Team": "a"}) as clerk:
        await sent(clerk.users.unban("user_1", extra_headers={"X-Request": "b"}))
    assert server.last.headers["X-Team"] == "a"
    assert server.last.headers["X-Request"] == "b"


async def test_missing_key_fails_clearly_on_first_request_that_needs_it(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    async with AsyncClerk(server_url=server.url) as clerk:
        with pytest.raises(ClerkConfigurationError, match="CLERK_SECRET_KEY"):
            await clerk.users.get("user_1")
        # The one operation that needs no key still works.
        await clerk.miscellaneous.get_public_interstitial()
    assert [r.path for r in server.requests] == ["/v1/public/interstitial"]
    assert "Authorization" not in server.last.headers


async def test_key_falls_back_to_environment(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_fromenv")
    async with AsyncClerk(server_url=server.url) as clerk:
        await sent(clerk.users.unban("user_1"))
    assert server.last.headers["Authorization"] == "Bearer sk_test_fromenv"


def test_every_method_has_precise_signature_and_docstring() -> None:
    client = AsyncClerk("sk_test_x")
    rows = Path(__file__).parents[1].joinpath("spec", "operations.tsv").read_text().splitlines()[1:]
    assert len(rows) == 249
    paged = 0
    for row in rows:
        resource, method = row.split("\t")[:2]
        fn = getattr(getattr(client, resource), method)
        params = inspect.signature(fn).parameters
        # A list operation returns a pager (awaitable and iterable); every other is a coroutine.
        if {"limit", "offset"} <= params.keys():
            assert not inspect.iscoroutinefunction(fn), f"{resource}.{method}"
            assert fn.__annotations__["return"].startswith("AsyncPager["), f"{resource}.{method}"
            paged += 1
        else:
            assert inspect.iscoroutinefunction(fn), f"{resource}.{method}"
        assert not any(
            p.kind is p.VAR_KEYWORD or p.kind is p.VAR_POSITIONAL for p in params.values()
        )
        for option in ("timeout", "retries", "extra_headers"):
            assert params[option].kind is inspect.Parameter.KEYWORD_ONLY
        doc = fn.__doc__ or ""
        assert "Args:" in doc and "Returns:" in doc and "Raises:" in doc, f"{resource}.{method}"
    assert paged == 37


async def test_results_are_typed_structs(server: RecordingServer, clerk: AsyncClerk) -> None:
    server.reply("/v1/users", [user_json("user_1"), user_json("user_2")])
    users = await clerk.users.list()
    assert [type(u) for u in users] == [User, User]
    assert users[1].id == "user_2"
    assert users[0].email_addresses[0].verification is not None
    assert users[0].email_addresses[0].verification.strategy == "email_code"
    assert msgspec.json.decode(msgspec.json.encode(users[0]))["id"] == "user_1"


async def test_no_content_operations_return_none(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/webhooks/svix", None, status=204)
    # Typed as an awaitable of anything, so the check below is about what arrives at run time.
    deleting: Awaitable[object] = clerk.webhooks.delete_svix_app()
    assert await deleting is None


async def test_json_body_that_cannot_be_encoded_is_a_type_error(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    with pytest.raises(TypeError, match="cannot be encoded"):
        await clerk.users.update_metadata("user_1", public_metadata={"when": object()})
    assert server.requests == []


def test_body_field_typing_mirrors_the_spec() -> None:
    sig = inspect.signature(AsyncClerk("sk_test_x").users.update)
    assert "None" in str(sig.parameters["first_name"].annotation)
    assert sig.parameters["user_id"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert list(sig.parameters)[:3] == ["user_id", "external_id", "first_name"]
    assert list(sig.parameters)[-3:] == ["timeout", "retries", "extra_headers"]


async def test_boolean_query_parameters_the_spec_types_as_text_take_bool(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    hints = typing.get_type_hints(type(clerk.api_keys).list)
    assert hints["include_invalid"] == bool | msgspec.UnsetType
    server.reply("/v1/api_keys", {"data": [], "total_count": 0})
    await clerk.api_keys.list(subject="user_1", include_invalid=False)
    assert ("include_invalid", "false") in server.last.query


def test_deprecated_operations_are_visible_to_type_checkers() -> None:
    templates = type(AsyncClerk("sk_test_x").templates)
    message = getattr(templates.preview, "__deprecated__", None)
    assert message is not None and "Deprecated by Clerk" in message
    assert not hasattr(type(AsyncClerk("sk_test_x").users).get, "__deprecated__")
    clients = type(AsyncClerk("sk_test_x").clients)
    assert getattr(clients.list, "__deprecated__", None)  # a deprecated listing too


def test_raises_pairs_each_exception_with_its_own_statuses() -> None:
    from clerk_async.resources.users import UsersResource

    raises = (UsersResource.delete.__doc__ or "").split("Raises:")[1]
    entries = [" ".join(line.split()) for line in raises.strip().splitlines()]
    assert entries[:3] == [
        "BadRequestError: Clerk answers 400.",
        "AuthenticationError: Clerk answers 401.",
        "NotFoundError: Clerk answers 404.",
    ]
    assert entries[3].startswith("ClerkConnectionError:")


def test_raises_of_every_method_follows_the_spec_statuses() -> None:
    import yaml

    from clerk_async import _errors

    spec = yaml.safe_load(ROOT.joinpath("spec", "bapi-2026-05-12.yml").read_text())
    client = AsyncClerk("sk_test_x")
    for row in ROOT.joinpath("spec", "operations.tsv").read_text().splitlines()[1:]:
        resource, method, http, path = row.split("\t")[:4]
        statuses = sorted(
            int(c)
            for c in spec["paths"][path][http.lower()]["responses"]
            if c.isdigit() and int(c) >= 400
        )
        doc = getattr(getattr(client, resource), method).__doc__ or ""
        raises = " ".join(doc.split("Raises:")[1].split())
        for status in statuses:
            entry = re.search(rf"(\w+): Clerk answers [\d or]*\b{status}\b", raises)
            assert entry is not None, (resource, method, status)
            raised = _errors.api_error(status, {}, b"", operation="x", attempts=1, retry_after=None)
            assert type(raised).__name__ == entry.group(1), (resource, method, status)
