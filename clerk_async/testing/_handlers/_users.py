"""Users: create, list, count, get, update, delete, metadata, ban and profile images."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from .._params import bool_param, flag, include_exclude, int_param, json_body, order
from .._reject import Reject, taken
from .._store import IMAGE_HOST, JSON, Store
from ._base import Route, json, merge_metadata, replace_metadata, sorted_records, strip_nulls
from ._uploads import Uploads, digest

__all__ = ["UserHandlers"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# What ``order_by`` may name for users, and how each orders a user.
_USER_ORDER_KEYS: dict[str, Callable[[JSON], Any]] = {
    "created_at": lambda user: user["created_at"],
    "updated_at": lambda user: user["updated_at"],
    "first_name": lambda user: user["first_name"],
    "last_name": lambda user: user["last_name"],
    "username": lambda user: user["username"],
    "email_address": lambda user: _primary(user, "email_addresses", "email_address"),
    "phone_number": lambda user: _primary(user, "phone_numbers", "phone_number"),
    "web3wallet": lambda user: None,
    "last_active_at": lambda user: user["last_active_at"],
    "last_sign_in_at": lambda user: user["last_sign_in_at"],
}


class UserHandlers:
    def __init__(self, store: Store, uploads: Uploads) -> None:
        self.store = store
        self.uploads = uploads

    def routes(self) -> list[Route]:
        return [
            Route("users.list", self._list_users),
            Route("users.count", self._count_users),
            Route("users.create", self._create_user),
            Route("users.get", self._get_user),
            Route("users.update", self._update_user),
            Route("users.delete", self._delete_user),
            Route("users.update_metadata", self._merge_user_metadata),
            Route("users.replace_metadata", self._replace_user_metadata),
            Route("users.ban", self._ban_user),
            Route("users.unban", self._unban_user),
            Route("users.set_profile_image", self._set_profile_image),
            Route("users.delete_profile_image", self._delete_profile_image),
        ]

    async def _list_users(self, request: web.Request) -> web.Response:
        query = request.query
        limit = int_param(query, "limit", 10, 1, 500)
        offset = int_param(query, "offset", 0, 0, None)
        field, descending = order(query, "-created_at", _USER_ORDER_KEYS)
        cursor = query.get("starting_after")
        users = self._filter_users(query)
        if cursor is not None:
            if field != "created_at":
                raise Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "starting_after can only be combined with created_at ordering.",
                    param="starting_after",
                )
            if offset:
                raise Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "starting_after cannot be combined with a non-zero offset.",
                    param="offset",
                )
            # Ids sort in creation order, so even a deleted user's id is a usable cursor.
            if descending:
                end = bisect.bisect_left(users, cursor, key=_id)
                page = users[max(0, end - limit) : end][::-1]
            else:
                start = bisect.bisect_right(users, cursor, key=_id)
                page = users[start : start + limit]
        elif field == "created_at":
            if descending:
                end = len(users) - offset
                page = users[max(0, end - limit) : end][::-1] if end > 0 else []
            else:
                page = users[offset : offset + limit]
        else:
            page = sorted_records(users, _USER_ORDER_KEYS[field], descending)[
                offset : offset + limit
            ]
        return json(page)

    async def _count_users(self, request: web.Request) -> web.Response:
        return json(
            {"object": "total_count", "total_count": len(self._filter_users(request.query))}
        )

    def _filter_users(self, query: MultiMapping[str]) -> list[JSON]:
        """The users matching every filter of ``query``, oldest first."""
        tests: list[Callable[[JSON], bool]] = []
        emails = {value.lower() for value in query.getall("email_address", [])}
        if emails:
            tests.append(
                lambda u: any(e["email_address"].lower() in emails for e in u["email_addresses"])
            )
        phones = set(query.getall("phone_number", []))
        if phones:
            tests.append(lambda u: any(p["phone_number"] in phones for p in u["phone_numbers"]))
        usernames = {value.lower() for value in query.getall("username", [])}
        if usernames:
            tests.append(lambda u: (u["username"] or "").lower() in usernames)
        for name in ("user_id", "external_id"):
            selector = include_exclude(query.getall(name, []))
            if selector is not None:
                tests.append(_field_test("id" if name == "user_id" else name, selector))
        organizations = include_exclude(query.getall("organization_id", []))
        if organizations is not None:
            tests.append(lambda u: self._in_organizations(u["id"], organizations))
        for name, part in (
            ("query", "any"),
            ("email_address_query", "email"),
            ("phone_number_query", "phone"),
            ("username_query", "username"),
            ("name_query", "name"),
        ):
            text = query.get(name)
            if text:
                tests.append(_text_test(text, part))
        if "banned" in query:
            banned = bool_param(query, "banned")
            tests.append(lambda u: u["banned"] is banned)
        for name in (
            "created_at_before",
            "created_at_after",
            "last_active_at_before",
            "last_active_at_after",
            "last_active_at_since",
            "last_sign_in_at_before",
            "last_sign_in_at_after",
        ):
            if name in query:
                field, _, relation = name.rpartition("_at_")
                bound = int_param(query, name, 0, None, None)
                tests.append(_time_test(f"{field}_at", bound, before=relation == "before"))
        users = self.store.users_ascending()
        if not tests:
            return users
        return [user for user in users if all(test(user) for test in tests)]

    def _in_organizations(self, user_id: str, selector: Callable[[str], bool]) -> bool:
        return any(
            selector(org_id)
            for org_id, members in self.store.memberships.items()
            if user_id in members
        )

    async def _create_user(self, request: web.Request) -> web.Response:
        body = await json_body(request, "users.create")
        emails = self._new_identifiers(
            body, "email_address", "email_address_identification_status", self.store.emails
        )
        phones = self._new_identifiers(
            body, "phone_number", "phone_number_identification_status", self.store.phones
        )
        username = body.get("username") or None
        if username is not None:
            self.store.check_username(username, None)
        external_id = body.get("external_id") or None
        if external_id is not None:
            self.store.check_external_id(external_id, None)
        password = body.get("password")
        has_password = bool(password) or bool(body.get("password_digest"))
        if password and len(password) < 8 and not body.get("skip_password_checks"):
            raise Reject(
                422,
                "form_password_length_too_short",
                "Passwords must be 8 characters or more.",
                param="password",
            )
        user = self.store.new_user(
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            username=username,
            external_id=external_id,
            locale=body.get("locale"),
            emails=emails,
            phones=phones,
            password=has_password,
            public_metadata=strip_nulls(body.get("public_metadata") or {}),
            private_metadata=strip_nulls(body.get("private_metadata") or {}),
            unsafe_metadata=strip_nulls(body.get("unsafe_metadata") or {}),
            banned=bool(body.get("banned")),
            locked=bool(body.get("locked")),
            delete_self_enabled=flag(body, "delete_self_enabled", True),
            create_organization_enabled=flag(body, "create_organization_enabled", True),
            create_organizations_limit=body.get("create_organizations_limit"),
            bypass_client_trust=bool(body.get("bypass_client_trust")),
        )
        return json(user)

    def _new_identifiers(
        self, body: JSON, name: str, status_name: str, in_use: Mapping[str, str]
    ) -> list[tuple[str, bool]]:
        values: list[str] = body.get(name) or []
        statuses: list[str] = body.get(status_name) or []
        if statuses and len(statuses) != len(values):
            raise Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"{status_name} must have exactly one item per {name}.",
                param=status_name,
            )
        if any(status not in ("verified", "reserved") for status in statuses):
            raise Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"{status_name} items must be 'verified' or 'reserved'.",
                param=status_name,
            )
        seen: set[str] = set()
        for value in values:
            if name == "email_address" and not _EMAIL.match(value):
                raise Reject(
                    422,
                    "form_param_format_invalid",
                    "is invalid",
                    f"{value!r} is not a valid email address.",
                    param=name,
                )
            key = value.lower() if name == "email_address" else value
            if key in in_use or key in seen:
                noun = "email address" if name == "email_address" else "phone number"
                raise taken(name, f"That {noun} is taken. Please try another.")
            seen.add(key)
        return [
            (value, bool(statuses) and statuses[i] == "reserved") for i, value in enumerate(values)
        ]

    async def _get_user(self, request: web.Request) -> web.Response:
        return json(self.store.user(request.match_info["user_id"]))

    async def _update_user(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        body = await json_body(request, "users.update")
        if "username" in body:
            self.store.set_username(user, body["username"] or None)
        if "external_id" in body:
            self.store.set_external_id(user, body["external_id"] or None)
        for name, collection in (
            ("primary_email_address_id", "email_addresses"),
            ("primary_phone_number_id", "phone_numbers"),
        ):
            wanted = body.get(name)
            if wanted is None:
                continue
            match = next((i for i in user[collection] if i["id"] == wanted), None)
            if match is None or match["verification"] is None:
                raise Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    f"{wanted} is not a verified identification of this user.",
                    param=name,
                )
            user[name] = wanted
        for name in ("first_name", "last_name", "locale", "create_organizations_limit"):
            if name in body:
                user[name] = body[name]
        for name in ("delete_self_enabled", "create_organization_enabled", "bypass_client_trust"):
            if body.get(name) is not None:
                user[name] = body[name]
        if body.get("password") or body.get("password_digest"):
            user["password_enabled"] = True
            user["password_last_updated_at"] = self.store.tick()
        return json(self.store.touch(user))

    async def _delete_user(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        self.store.delete_user(user)
        return json({"object": "user", "id": user["id"], "deleted": True})

    async def _merge_user_metadata(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        merge_metadata(user, await json_body(request, "users.update_metadata"))
        return json(self.store.touch(user))

    async def _replace_user_metadata(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        replace_metadata(user, await json_body(request, "users.replace_metadata"))
        return json(self.store.touch(user))

    async def _ban_user(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        user["banned"] = True
        return json(self.store.touch(user))

    async def _unban_user(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        user["banned"] = False
        return json(self.store.touch(user))

    async def _set_profile_image(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        upload = await self.uploads.receive(request, user["id"])
        user["has_image"] = True
        user["image_url"] = user["profile_image_url"] = (
            f"{IMAGE_HOST}/{user['id']}/{digest(upload)}"
        )
        return json(self.store.touch(user))

    async def _delete_profile_image(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        user["has_image"] = False
        user["image_url"] = user["profile_image_url"] = f"{IMAGE_HOST}/default/{user['id']}"
        return json(self.store.touch(user))


# -- helpers ---------------------------------------------------------------------------------------


def _id(record: JSON) -> str:
    return str(record["id"])


def _primary(user: JSON, collection: str, field: str) -> str | None:
    items = user[collection]
    return str(items[0][field]) if items else None


def _searchable(user: JSON, part: str = "any") -> list[str]:
    values: list[str | None] = []
    if part in ("any", "email"):
        values += [e["email_address"] for e in user["email_addresses"]]
    if part in ("any", "phone"):
        values += [p["phone_number"] for p in user["phone_numbers"]]
    if part in ("any", "username"):
        values.append(user["username"])
    if part in ("any", "name"):
        values += [user["first_name"], user["last_name"]]
        values.append(" ".join(n for n in (user["first_name"], user["last_name"]) if n))
    if part == "any":
        values.append(user["id"])
    return [value for value in values if value]


def _field_test(field: str, selector: Callable[[str | None], bool]) -> Callable[[JSON], bool]:
    return lambda record: selector(record[field])


def _text_test(text: str, part: str) -> Callable[[JSON], bool]:
    needle = text.lower()
    return lambda user: any(needle in value.lower() for value in _searchable(user, part))


def _time_test(field: str, bound: int, *, before: bool) -> Callable[[JSON], bool]:
    def test(user: JSON) -> bool:
        value = user[field]
        return value is not None and (value < bound if before else value > bound)

    return test
