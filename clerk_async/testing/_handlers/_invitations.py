"""Instance invitations and organization invitations: create, list, get, revoke."""

from __future__ import annotations

from aiohttp import web

from .._params import json_body, page, required
from .._reject import Reject, invalid, not_found
from .._store import JSON, Store
from ._base import Route, json

__all__ = ["InvitationHandlers"]


class InvitationHandlers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def routes(self) -> list[Route]:
        return [
            Route("invitations.create", self._create),
            Route("invitations.list", self._list),
            Route("invitations.revoke", self._revoke),
            Route("organization_invitations.create", self._create_for_organization),
            Route("organization_invitations.list", self._list_for_organization),
            Route("organization_invitations.get", self._get_for_organization),
            Route("organization_invitations.revoke", self._revoke_for_organization),
        ]

    async def _create(self, request: web.Request) -> web.Response:
        body = await json_body(request, "invitations.create")
        address = required(body, "email_address")
        if address.lower() in self.store.emails and not body.get("ignore_existing"):
            raise invalid("email_address", f"{address} already belongs to a user.")
        if any(
            i["email_address"].lower() == address.lower() and i["status"] == "pending"
            for i in self.store.invitations.values()
        ) and not body.get("ignore_existing"):
            raise Reject(
                422,
                "duplicate_record",
                "duplicate invitation",
                f"{address} already has a pending invitation.",
                param="email_address",
            )
        days = body.get("expires_in_days") or 30
        return json(self.store.new_invitation(address, body.get("public_metadata") or {}, days))

    async def _list(self, request: web.Request) -> web.Response:
        status, text = request.query.get("status"), request.query.get("query", "").lower()
        invitations = [
            i
            for i in self.store.invitations.values()
            if (not status or i["status"] == status) and text in i["email_address"].lower()
        ][::-1]
        return json(page(request.query, invitations))

    async def _revoke(self, request: web.Request) -> web.Response:
        invitation = self.store.invitations.get(request.match_info["invitation_id"])
        if invitation is None:
            raise not_found("Invitation")
        _check_pending(invitation)
        invitation.update(status="revoked", revoked=True)
        return json(self.store.touch(invitation))

    async def _create_for_organization(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        body = await json_body(request, "organization_invitations.create")
        invitation = self.store.new_organization_invitation(
            organization,
            required(body, "email_address"),
            required(body, "role"),
            body.get("inviter_user_id"),
            body,
        )
        return json(invitation)

    async def _list_for_organization(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        statuses = set(request.query.getall("status", []))
        invitations = [
            i
            for i in self.store.organization_invitations.values()
            if i["organization_id"] == organization["id"]
            and (not statuses or i["status"] in statuses)
        ][::-1]
        return json({"data": page(request.query, invitations), "total_count": len(invitations)})

    def _organization_invitation(self, request: web.Request) -> JSON:
        organization = self.store.organization(request.match_info["organization_id"])
        invitation = self.store.organization_invitations.get(request.match_info["invitation_id"])
        if invitation is None or invitation["organization_id"] != organization["id"]:
            raise not_found("Organization invitation")
        return invitation

    async def _get_for_organization(self, request: web.Request) -> web.Response:
        return json(self._organization_invitation(request))

    async def _revoke_for_organization(self, request: web.Request) -> web.Response:
        invitation = self._organization_invitation(request)
        await json_body(request, "organization_invitations.revoke")
        _check_pending(invitation)
        invitation["status"] = "revoked"
        self.store.organizations[invitation["organization_id"]]["pending_invitations_count"] -= 1
        return json(self.store.touch(invitation))


def _check_pending(invitation: JSON) -> None:
    if invitation["status"] != "pending":
        raise Reject(
            400,
            "invitation_not_pending",
            "not pending",
            f"Only pending invitations can be revoked; this one is {invitation['status']}.",
        )
