"""Email addresses: create for a user, get, update (verified, primary), delete."""

from __future__ import annotations

import re

from aiohttp import web

from .._params import json_body, required
from .._reject import Reject
from .._store import Store, admin_verification
from ._base import Route, json

__all__ = ["EmailAddressHandlers"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailAddressHandlers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def routes(self) -> list[Route]:
        return [
            Route("email_addresses.create", self._create),
            Route("email_addresses.get", self._get),
            Route("email_addresses.update", self._update),
            Route("email_addresses.delete", self._delete),
        ]

    async def _create(self, request: web.Request) -> web.Response:
        body = await json_body(request, "email_addresses.create")
        user = self.store.user(required(body, "user_id"))
        address = required(body, "email_address")
        if not _EMAIL.match(address):
            raise Reject(
                422,
                "form_param_format_invalid",
                "is invalid",
                f"{address!r} is not a valid email address.",
                param="email_address",
            )
        email = self.store.add_email(
            user, address, verified=bool(body.get("verified")), primary=bool(body.get("primary"))
        )
        return json(email)

    async def _get(self, request: web.Request) -> web.Response:
        email, _ = self.store.email(request.match_info["email_address_id"])
        return json(email)

    async def _update(self, request: web.Request) -> web.Response:
        email, user = self.store.email(request.match_info["email_address_id"])
        body = await json_body(request, "email_addresses.update")
        if body.get("verified") is not None:
            email["verification"] = admin_verification() if body["verified"] else None
        if body.get("primary"):
            self.store.set_primary_email(user, email)
        self.store.touch(user)
        return json(self.store.touch(email))

    async def _delete(self, request: web.Request) -> web.Response:
        email, user = self.store.email(request.match_info["email_address_id"])
        self.store.remove_email(user, email)
        return json({"object": "email_address", "id": email["id"], "deleted": True})
