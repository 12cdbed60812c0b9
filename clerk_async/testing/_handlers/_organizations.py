"""Organizations: create, list, get, update, delete, metadata and logos."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiMapping

from .._params import bool_param, include_exclude, int_param, json_body, order
from .._reject import Reject
from .._store import IMAGE_HOST, JSON, Store, check_organization_name
from ._base import Route, json, merge_metadata, replace_metadata, sorted_records, strip_nulls
from ._uploads import Uploads, digest

__all__ = ["OrganizationHandlers"]

_ORGANIZATION_ORDER_KEYS = ("created_at", "name", "members_count")


class OrganizationHandlers:
    def __init__(self, store: Store, uploads: Uploads) -> None:
        self.store = store
        self.uploads = uploads

    def routes(self) -> list[Route]:
        return [
            Route("organizations.list", self._list_organizations),
            Route("organizations.create", self._create_organization),
            Route("organizations.get", self._get_organization),
            Route("organizations.update", self._update_organization),
            Route("organizations.delete", self._delete_organization),
            Route("organizations.merge_metadata", self._merge_organization_metadata),
            Route("organizations.replace_metadata", self._replace_organization_metadata),
            Route("organizations.upload_logo", self._upload_logo),
            Route("organizations.delete_logo", self._delete_logo),
        ]

    def _render_organization(self, organization: JSON, query: MultiMapping[str]) -> JSON:
        """Add the counts Clerk includes only on request."""
        extra: JSON = {}
        members = self.store.memberships[organization["id"]]
        if "include_members_count" in query and bool_param(query, "include_members_count"):
            extra["members_count"] = len(members)
        if "include_missing_member_with_elevated_permissions" in query and bool_param(
            query, "include_missing_member_with_elevated_permissions"
        ):
            extra["missing_member_with_elevated_permissions"] = not any(
                m["role"] == "org:admin" for m in members.values()
            )
        return {**organization, **extra} if extra else organization

    async def _list_organizations(self, request: web.Request) -> web.Response:
        query = request.query
        limit = int_param(query, "limit", 10, 1, 500)
        offset = int_param(query, "offset", 0, 0, None)
        field, descending = order(query, "-created_at", _ORGANIZATION_ORDER_KEYS)
        organizations = list(self.store.organizations.values())
        text = query.get("query")
        if text:
            needle = text.lower()
            organizations = [
                o
                for o in organizations
                if o["id"] == text or needle in o["name"].lower() or needle in o["slug"].lower()
            ]
        selector = include_exclude(query.getall("organization_id", []))
        if selector is not None:
            organizations = [o for o in organizations if selector(o["id"])]
        users = include_exclude(query.getall("user_id", []))
        if users is not None:
            organizations = [
                o
                for o in organizations
                if any(users(member) for member in self.store.memberships[o["id"]])
            ]
        if field == "members_count":
            ordered = sorted_records(
                organizations, lambda o: len(self.store.memberships[o["id"]]), descending
            )
        elif field == "name":
            ordered = sorted_records(organizations, lambda o: o["name"].lower(), descending)
        else:
            ordered = organizations[::-1] if descending else organizations
        page = [self._render_organization(o, query) for o in ordered[offset : offset + limit]]
        return json({"data": page, "total_count": len(organizations)})

    async def _create_organization(self, request: web.Request) -> web.Response:
        body = await json_body(request, "organizations.create")
        name = body.get("name")
        if not name:
            raise Reject(422, "form_param_missing", "is missing", "name is required.", param="name")
        check_organization_name(name)
        slug = body.get("slug")
        if slug is not None:
            self.store.check_slug(slug, None)
        created_by = body.get("created_by")
        if created_by and created_by not in self.store.users:
            raise Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"created_by: no user has the id {created_by}.",
                param="created_by",
            )
        limit = body.get("max_allowed_memberships")
        if limit is not None and limit < 0:
            raise Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                "max_allowed_memberships must be 0 or more.",
                param="max_allowed_memberships",
            )
        organization = self.store.new_organization(
            name=name,
            slug=slug,
            created_by=created_by,
            max_allowed_memberships=5 if limit is None else limit,
            public_metadata=strip_nulls(body.get("public_metadata") or {}),
            private_metadata=strip_nulls(body.get("private_metadata") or {}),
            role_set_key=body.get("role_set_key"),
        )
        return json(organization)

    async def _get_organization(self, request: web.Request) -> web.Response:
        return json(
            self._render_organization(
                self.store.organization(request.match_info["organization_id"]), request.query
            )
        )

    async def _update_organization(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        body = await json_body(request, "organizations.update")
        if body.get("name") is not None:
            check_organization_name(body["name"])
            organization["name"] = body["name"]
        if body.get("slug") is not None and body["slug"] != organization["slug"]:
            self.store.set_slug(organization, body["slug"])
        if body.get("max_allowed_memberships") is not None:
            if body["max_allowed_memberships"] < 0:
                raise Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "max_allowed_memberships must be 0 or more.",
                    param="max_allowed_memberships",
                )
            organization["max_allowed_memberships"] = body["max_allowed_memberships"]
        if body.get("admin_delete_enabled") is not None:
            organization["admin_delete_enabled"] = body["admin_delete_enabled"]
        if "role_set_key" in body:
            organization["role_set_key"] = body["role_set_key"]
        return json(self.store.touch(organization))

    async def _delete_organization(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        self.store.delete_organization(organization)
        return json(
            {
                "object": "organization",
                "id": organization["id"],
                "slug": organization["slug"],
                "deleted": True,
            }
        )

    async def _merge_organization_metadata(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        merge_metadata(organization, await json_body(request, "organizations.merge_metadata"))
        return json(self.store.touch(organization))

    async def _replace_organization_metadata(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        replace_metadata(organization, await json_body(request, "organizations.replace_metadata"))
        return json(self.store.touch(organization))

    async def _upload_logo(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        upload = await self.uploads.receive(request, organization["id"])
        organization["has_image"] = True
        organization["image_url"] = f"{IMAGE_HOST}/{organization['id']}/{digest(upload)}"
        self.store.touch(organization)
        return json({**organization, "logo_url": organization["image_url"]})

    async def _delete_logo(self, request: web.Request) -> web.Response:
        organization = self.store.organization(request.match_info["organization_id"])
        organization["has_image"] = False
        organization["image_url"] = f"{IMAGE_HOST}/default/{organization['id']}"
        return json(self.store.touch(organization))
