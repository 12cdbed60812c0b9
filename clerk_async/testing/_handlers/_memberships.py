"""Organization memberships: create, list, update, delete, and a user's memberships."""

from __future__ import annotations

from aiohttp import web

from .._params import json_body, page, required
from .._store import JSON, Store
from ._base import Route, json

__all__ = ["MembershipHandlers"]


class MembershipHandlers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def routes(self) -> list[Route]:
        return [
            Route("organization_memberships.create", self._create),
            Route("organization_memberships.list", self._list),
            Route("organization_memberships.update", self._update),
            Route("organization_memberships.delete", self._delete),
            Route("users.get_organization_memberships", self._list_for_user),
        ]

    def _listing(self, request: web.Request, memberships: list[JSON]) -> web.Response:
        rendered = [self.store.render_membership(m) for m in page(request.query, memberships)]
        return json({"data": rendered, "total_count": len(memberships)})

    async def _create(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        body = await json_body(request, "organization_memberships.create")
        user = self.store.user(required(body, "user_id"))
        membership = self.store.add_membership(
            organization,
            user,
            required(body, "role"),
            public_metadata=body.get("public_metadata") or {},
            private_metadata=body.get("private_metadata") or {},
        )
        return json(self.store.render_membership(membership))

    async def _list(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        members = list(self.store.memberships[organization["id"]].values())
        return self._listing(request, members[::-1])  # newest first, as Clerk lists them

    async def _update(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        membership = self.store.membership(organization["id"], request.match_info["user_id"])
        body = await json_body(request, "organization_memberships.update")
        self.store.set_role(membership, required(body, "role"))
        return json(self.store.render_membership(membership))

    async def _delete(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        membership = self.store.membership(organization["id"], request.match_info["user_id"])
        rendered = self.store.render_membership(membership)
        del self.store.memberships[organization["id"]][membership["user_id"]]
        return json(rendered)

    async def _list_for_user(self, request: web.Request) -> web.Response:
        user = self.store.user(request.match_info["user_id"])
        return self._listing(request, self.store.memberships_of(user["id"])[::-1])
