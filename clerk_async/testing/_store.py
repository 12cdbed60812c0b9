"""The fake's state: every record and every index over them, kept consistent in one place.

Records are plain dicts in the JSON shapes of the spec, so handlers return them as they are.
Nothing here knows about HTTP; rule violations raise :class:`~._reject.Reject`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from ._reject import Reject, invalid, not_found, taken

__all__ = ["DEFAULT_ROLES", "JSON", "Store", "admin_verification", "check_organization_name"]

JSON = dict[str, Any]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
IMAGE_HOST = "https://img.clerk.com/fake"
ACCOUNTS_URL = "https://accounts.fake.clerk.accounts.dev"
_DAY_MS = 86_400_000

_PIONEERS = (
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
    ("Margaret", "Hamilton"),
    ("Dennis", "Ritchie"),
    ("Radia", "Perlman"),
    ("John", "Backus"),
    ("Katherine", "Johnson"),
    ("Guido", "van Rossum"),
    ("Sophie", "Wilson"),
    ("Niklaus", "Wirth"),
)

# Clerk's two default organization roles and the system permissions each grants.
DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "org:admin": (
        "org:sys_profile:manage",
        "org:sys_profile:delete",
        "org:sys_memberships:read",
        "org:sys_memberships:manage",
        "org:sys_domains:read",
        "org:sys_domains:manage",
    ),
    "org:member": ("org:sys_memberships:read",),
}


def _base62(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
        if not number:
            return "".join(reversed(digits))


def _role_name(role: str) -> str:
    """The display name Clerk derives from a role key: ``org:billing_admin`` → ``Billing Admin``."""
    return role.removeprefix("org:").replace("_", " ").title()


def check_organization_name(name: str) -> None:
    if len(name) > 256 or "://" in name or "<" in name:
        raise Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            "An organization name may not contain URLs or HTML, nor exceed 256 characters.",
            param="name",
        )


def admin_verification() -> JSON:
    """The verification of an identifier a backend created as verified."""
    return {
        "object": "verification_admin",
        "status": "verified",
        "strategy": "admin",
        "attempts": None,
        "expire_at": None,
    }


class Store:
    """Users, organizations, memberships, sessions, invitations and machine tokens."""

    def __init__(self) -> None:
        self.roles: dict[str, tuple[str, ...]] = dict(DEFAULT_ROLES)
        self._counter = 0
        self._clock = 0
        self._seeded_users = 0
        self._seeded_organizations = 0
        self.users: dict[str, JSON] = {}
        self._user_list: list[JSON] | None = None  # ascending by creation; rebuilt lazily
        self.emails: dict[str, str] = {}  # lowercased address -> user id
        self.phones: dict[str, str] = {}
        self._usernames: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._email_owners: dict[str, str] = {}  # email address id -> user id
        self.organizations: dict[str, JSON] = {}
        self._slugs: dict[str, str] = {}
        self.memberships: dict[str, dict[str, JSON]] = {}  # org id -> user id -> membership
        self.sessions: dict[str, JSON] = {}
        self.invitations: dict[str, JSON] = {}
        self.organization_invitations: dict[str, JSON] = {}
        self.machine_tokens: dict[str, JSON] = {}  # secret -> api key, m2m or oauth record

    # -- ids and time ---------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """``prefix_`` and 27 base62 characters; ids sort in creation order."""
        self._counter += 1
        head = "2" + _base62(self._counter).rjust(7, "0")
        digest = hashlib.blake2b(f"{prefix}{self._counter}".encode(), digest_size=16).digest()
        tail = _base62(int.from_bytes(digest, "big")).rjust(19, "0")[:19]
        return f"{prefix}_{head}{tail}"

    def tick(self) -> int:
        """Now in Unix milliseconds, strictly increasing so creation order is total."""
        self._clock = max(int(time.time() * 1000), self._clock + 1)
        return self._clock

    def touch(self, record: JSON) -> JSON:
        record["updated_at"] = self.tick()
        return record

    # -- users ----------------------------------------------------------------------------------

    def seed_users(self, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            self._seeded_users += 1
            n = self._seeded_users
            first_name, last_name = _PIONEERS[(n - 1) % len(_PIONEERS)]
            user = self.new_user(
                first_name=first_name,
                last_name=last_name,
                username=f"user{n:05d}",
                emails=[(f"user{n:05d}@example.com", False)],
            )
            ids.append(user["id"])
        return ids

    def new_user(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        external_id: str | None = None,
        locale: str | None = None,
        emails: Iterable[tuple[str, bool]] = (),
        phones: Iterable[tuple[str, bool]] = (),
        password: bool = False,
        public_metadata: JSON | None = None,
        private_metadata: JSON | None = None,
        unsafe_metadata: JSON | None = None,
        banned: bool = False,
        locked: bool = False,
        delete_self_enabled: bool = True,
        create_organization_enabled: bool = True,
        create_organizations_limit: int | None = None,
        bypass_client_trust: bool = False,
    ) -> JSON:
        now = self.tick()
        user_id = self.new_id("user")
        email_addresses = [self.identification("email_address", a, r, now) for a, r in emails]
        phone_numbers = [self.identification("phone_number", p, r, now) for p, r in phones]
        user: JSON = {
            "id": user_id,
            "object": "user",
            "external_id": external_id,
            "primary_email_address_id": email_addresses[0]["id"] if email_addresses else None,
            "primary_phone_number_id": phone_numbers[0]["id"] if phone_numbers else None,
            "primary_web3_wallet_id": None,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "locale": locale,
            "profile_image_url": f"{IMAGE_HOST}/default/{user_id}",
            "image_url": f"{IMAGE_HOST}/default/{user_id}",
            "has_image": False,
            "public_metadata": public_metadata or {},
            "private_metadata": private_metadata or {},
            "unsafe_metadata": unsafe_metadata or {},
            "email_addresses": email_addresses,
            "phone_numbers": phone_numbers,
            "web3_wallets": [],
            "passkeys": [],
            "password_enabled": password,
            "two_factor_enabled": False,
            "totp_enabled": False,
            "backup_code_enabled": False,
            "mfa_enabled_at": None,
            "mfa_disabled_at": None,
            "password_last_updated_at": now if password else None,
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [],
            "last_sign_in_at": None,
            "banned": banned,
            "locked": locked,
            "deprovisioned": False,
            "lockout_expires_in_seconds": None,
            "verification_attempts_remaining": 100,
            "updated_at": now,
            "created_at": now,
            "delete_self_enabled": delete_self_enabled,
            "create_organization_enabled": create_organization_enabled,
            "create_organizations_limit": create_organizations_limit,
            "last_active_at": None,
            "legal_accepted_at": None,
            "bypass_client_trust": bypass_client_trust,
        }
        self.users[user_id] = user
        if self._user_list is not None:
            self._user_list.append(user)  # newest id sorts last, so the list stays ordered
        for address in email_addresses:
            self.emails[address["email_address"].lower()] = user_id
            self._email_owners[address["id"]] = user_id
        for phone in phone_numbers:
            self.phones[phone["phone_number"]] = user_id
        if username:
            self._usernames[username.lower()] = user_id
        if external_id:
            self._external_ids[external_id] = user_id
        return user

    def identification(self, kind: str, value: str, reserved: bool, now: int) -> JSON:
        verification = None if reserved else admin_verification()
        identification: JSON = {
            "id": self.new_id("idn"),
            "object": kind,
            kind: value,
            "reserved": reserved,
            "verification": verification,
            "linked_to": [],
            "created_at": now,
            "updated_at": now,
        }
        if kind == "email_address":
            identification["matches_sso_connection"] = False
        else:
            identification.update(
                reserved_for_second_factor=False, default_second_factor=False, backup_codes=None
            )
        return identification

    def users_ascending(self) -> list[JSON]:
        if self._user_list is None:
            self._user_list = list(self.users.values())
        return self._user_list

    def user(self, user_id: str) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise not_found()
        return user

    def check_username(self, username: str, owner: str | None) -> None:
        if not 4 <= len(username) <= 64:
            raise Reject(
                422,
                "form_username_invalid_length",
                "Username must be between 4 and 64 characters.",
                param="username",
            )
        holder = self._usernames.get(username.lower())
        if holder is not None and holder != owner:
            raise taken("username", "That username is taken. Please try another.")

    def check_external_id(self, external_id: str, owner: str | None) -> None:
        holder = self._external_ids.get(external_id)
        if holder is not None and holder != owner:
            raise taken("external_id", "That external ID is taken.")

    def set_username(self, user: JSON, username: str | None) -> None:
        if username is not None:
            self.check_username(username, user["id"])
        if user["username"]:
            self._usernames.pop(user["username"].lower(), None)
        if username is not None:
            self._usernames[username.lower()] = user["id"]
        user["username"] = username

    def set_external_id(self, user: JSON, external_id: str | None) -> None:
        if external_id:
            self.check_external_id(external_id, user["id"])
        if user["external_id"]:
            self._external_ids.pop(user["external_id"], None)
        if external_id:
            self._external_ids[external_id] = user["id"]
        user["external_id"] = external_id

    def delete_user(self, user: JSON) -> None:
        del self.users[user["id"]]
        self._user_list = None
        for address in user["email_addresses"]:
            self.emails.pop(address["email_address"].lower(), None)
            self._email_owners.pop(address["id"], None)
        for phone in user["phone_numbers"]:
            self.phones.pop(phone["phone_number"], None)
        if user["username"]:
            self._usernames.pop(user["username"].lower(), None)
        if user["external_id"]:
            self._external_ids.pop(user["external_id"], None)
        for members in self.memberships.values():
            members.pop(user["id"], None)
        for session in self.sessions.values():
            if session["user_id"] == user["id"] and session["status"] == "active":
                session["status"] = "removed"

    # -- email addresses ------------------------------------------------------------------------

    def add_email(self, user: JSON, address: str, *, verified: bool, primary: bool) -> JSON:
        key = address.lower()
        if key in self.emails:
            raise taken("email_address", "That email address is taken. Please try another.")
        email = self.identification("email_address", address, not verified, self.tick())
        user["email_addresses"].append(email)
        self.emails[key] = user["id"]
        self._email_owners[email["id"]] = user["id"]
        if primary or user["primary_email_address_id"] is None:
            self.set_primary_email(user, email)
        self.touch(user)
        return email

    def email(self, email_id: str) -> tuple[JSON, JSON]:
        """The email address with this id and the user who owns it."""
        owner = self._email_owners.get(email_id)
        if owner is not None:
            user = self.users[owner]
            for email in user["email_addresses"]:
                if email["id"] == email_id:
                    return email, user
        raise not_found("Email address")

    def set_primary_email(self, user: JSON, email: JSON) -> None:
        if email["verification"] is None:
            raise invalid("primary", "An unverified email address cannot be made primary.")
        user["primary_email_address_id"] = email["id"]

    def remove_email(self, user: JSON, email: JSON) -> None:
        user["email_addresses"].remove(email)
        self.emails.pop(email["email_address"].lower(), None)
        self._email_owners.pop(email["id"], None)
        if user["primary_email_address_id"] == email["id"]:
            remaining = [e for e in user["email_addresses"] if e["verification"] is not None]
            user["primary_email_address_id"] = remaining[0]["id"] if remaining else None
        self.touch(user)

    # -- organizations --------------------------------------------------------------------------

    def seed_organizations(self, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            self._seeded_organizations += 1
            n = self._seeded_organizations
            ids.append(self.new_organization(name=f"Organization {n:05d}")["id"])
        return ids

    def new_organization(
        self,
        *,
        name: str,
        slug: str | None = None,
        created_by: str | None = None,
        max_allowed_memberships: int = 5,
        public_metadata: JSON | None = None,
        private_metadata: JSON | None = None,
        role_set_key: str | None = None,
    ) -> JSON:
        now = self.tick()
        org_id = self.new_id("org")
        slug = slug or self._free_slug(name)
        organization: JSON = {
            "object": "organization",
            "id": org_id,
            "name": name,
            "slug": slug,
            "image_url": f"{IMAGE_HOST}/default/{org_id}",
            "has_image": False,
            "max_allowed_memberships": max_allowed_memberships,
            "admin_delete_enabled": True,
            "public_metadata": public_metadata or {},
            "private_metadata": private_metadata or {},
            "pending_invitations_count": 0,
            "created_at": now,
            "updated_at": now,
            "last_active_at": now,
            "role_set_key": role_set_key,
        }
        if created_by:
            organization["created_by"] = created_by
        self.organizations[org_id] = organization
        self._slugs[slug] = org_id
        self.memberships[org_id] = {}
        if created_by:
            self.add_membership(organization, self.user(created_by), "org:admin")
        return organization

    def _free_slug(self, name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "organization"
        slug, n = base, 1
        while slug in self._slugs:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def organization(self, key: str) -> JSON:
        """The organization with this id or slug."""
        organization = self.organizations.get(key) or self.organizations.get(
            self._slugs.get(key, "")
        )
        if organization is None:
            raise not_found()
        return organization

    def check_slug(self, slug: str, owner: str | None) -> None:
        if not _SLUG.match(slug):
            raise Reject(
                422,
                "organization_slug_invalid",
                "is invalid",
                "A slug may contain only lowercase letters, digits and single dashes.",
                param="slug",
            )
        holder = self._slugs.get(slug)
        if holder is not None and holder != owner:
            raise taken("slug", "That slug is taken. Please try another.")

    def set_slug(self, organization: JSON, slug: str) -> None:
        self.check_slug(slug, organization["id"])
        del self._slugs[organization["slug"]]
        organization["slug"] = slug
        self._slugs[slug] = organization["id"]

    def delete_organization(self, organization: JSON) -> None:
        del self.organizations[organization["id"]]
        del self._slugs[organization["slug"]]
        del self.memberships[organization["id"]]
        for invitation in self.organization_invitations.values():
            if invitation["organization_id"] == organization["id"]:
                invitation["status"] = "revoked"

    # -- memberships ----------------------------------------------------------------------------

    def check_role(self, role: str) -> tuple[str, ...]:
        permissions = self.roles.get(role)
        if permissions is None:
            raise invalid("role", f"{role!r} is not a role of this instance: {sorted(self.roles)}.")
        return permissions

    def add_membership(self, organization: JSON, user: JSON, role: str, **metadata: JSON) -> JSON:
        permissions = self.check_role(role)
        members = self.memberships[organization["id"]]
        if user["id"] in members:
            raise Reject(
                422,
                "already_a_member_in_organization",
                "already a member",
                f"{user['id']} is already a member of {organization['id']}.",
                param="user_id",
            )
        limit = organization["max_allowed_memberships"]
        if limit and len(members) >= limit:
            raise Reject(
                403,
                "organization_membership_quota_exceeded",
                "membership quota exceeded",
                f"{organization['id']} allows at most {limit} members.",
            )
        now = self.tick()
        membership: JSON = {
            "id": self.new_id("orgmem"),
            "object": "organization_membership",
            "role": role,
            "role_name": _role_name(role),
            "permissions": list(permissions),
            "public_metadata": metadata.get("public_metadata") or {},
            "private_metadata": metadata.get("private_metadata") or {},
            "organization_id": organization["id"],
            "user_id": user["id"],
            "created_at": now,
            "updated_at": now,
        }
        members[user["id"]] = membership
        return membership

    def set_role(self, membership: JSON, role: str) -> JSON:
        membership["permissions"] = list(self.check_role(role))
        membership["role"] = role
        membership["role_name"] = _role_name(role)
        return self.touch(membership)

    def membership(self, organization_id: str, user_id: str) -> JSON:
        membership = self.memberships.get(organization_id, {}).get(user_id)
        if membership is None:
            raise not_found("Organization membership")
        return membership

    def render_membership(self, membership: JSON) -> JSON:
        """A membership as Clerk answers it: with its organization and the user's public data."""
        user = self.users[membership["user_id"]]
        primary = next(
            (
                e["email_address"]
                for e in user["email_addresses"]
                if e["id"] == user["primary_email_address_id"]
            ),
            None,
        )
        rendered = {k: v for k, v in membership.items() if k not in ("organization_id", "user_id")}
        rendered["organization"] = self.organizations[membership["organization_id"]]
        rendered["public_user_data"] = {
            "user_id": user["id"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "profile_image_url": user["profile_image_url"],
            "image_url": user["image_url"],
            "has_image": user["has_image"],
            "identifier": primary or user["username"],
            "username": user["username"],
            "banned": user["banned"],
            "deprovisioned": user["deprovisioned"],
        }
        return rendered

    def memberships_of(self, user_id: str) -> list[JSON]:
        return [m[user_id] for m in self.memberships.values() if user_id in m]

    # -- sessions -------------------------------------------------------------------------------

    def new_session(
        self, user_id: str, *, session_id: str | None = None, org_id: str | None = None
    ) -> JSON:
        now = self.tick()
        session: JSON = {
            "object": "session",
            "id": session_id or self.new_id("sess"),
            "user_id": user_id,
            "client_id": self.new_id("client"),
            "actor": None,
            "status": "active",
            "last_active_organization_id": org_id,
            "last_active_at": now,
            "latest_activity": None,
            "expire_at": now + 7 * _DAY_MS,
            "abandon_at": now + 30 * _DAY_MS,
            "updated_at": now,
            "created_at": now,
            "tasks": None,
        }
        self.sessions[session["id"]] = session
        return session

    def session(self, session_id: str) -> JSON:
        session = self.sessions.get(session_id)
        if session is None:
            raise not_found("Session")
        return session

    # -- invitations ----------------------------------------------------------------------------

    def new_invitation(
        self, email_address: str, public_metadata: JSON, expires_in_days: int
    ) -> JSON:
        now = self.tick()
        invitation: JSON = {
            "object": "invitation",
            "id": self.new_id("inv"),
            "email_address": email_address,
            "public_metadata": public_metadata,
            "revoked": False,
            "status": "pending",
            "url": None,  # set below, from the id
            "expires_at": now + expires_in_days * _DAY_MS,
            "created_at": now,
            "updated_at": now,
        }
        invitation["url"] = f"{ACCOUNTS_URL}/sign-up?__clerk_ticket={invitation['id']}"
        self.invitations[invitation["id"]] = invitation
        return invitation

    def new_organization_invitation(
        self, organization: JSON, email_address: str, role: str, inviter: str | None, body: JSON
    ) -> JSON:
        self.check_role(role)
        now = self.tick()
        inviter_data = None
        if inviter is not None:
            user = self.user(inviter)
            inviter_data = {
                k: user[k] for k in ("first_name", "last_name", "image_url", "has_image")
            } | {"user_id": user["id"], "identifier": user["username"] or user["id"]}
        invitation: JSON = {
            "object": "organization_invitation",
            "id": self.new_id("orginv"),
            "email_address": email_address,
            "role": role,
            "role_name": _role_name(role),
            "organization_id": organization["id"],
            "inviter_id": inviter,
            "public_inviter_data": inviter_data,
            "status": "pending",
            "public_metadata": body.get("public_metadata") or {},
            "private_metadata": body.get("private_metadata") or {},
            "url": body.get("redirect_url"),
            "expires_at": now + (body.get("expires_in_days") or 30) * _DAY_MS,
            "created_at": now,
            "updated_at": now,
        }
        self.organization_invitations[invitation["id"]] = invitation
        organization["pending_invitations_count"] += 1
        return invitation

    # -- machine tokens -------------------------------------------------------------------------

    def new_machine_token(
        self,
        kind: str,
        subject: str,
        *,
        scopes: Iterable[str] = (),
        claims: JSON | None = None,
        name: str | None = None,
        client_id: str | None = None,
        expires_in: float | None = None,
    ) -> tuple[str, JSON]:
        """A new ``api_key``, ``m2m_token`` or ``oauth_token`` and its secret."""
        prefix, id_prefix = {
            "api_key": ("ak_", "ak_"),
            "m2m_token": ("mt_", "mt_"),
            "oauth_token": ("oat_", "oat_"),
        }[kind]
        now = self.tick()
        record: JSON = {
            "kind": kind,
            "id": id_prefix + secrets.token_hex(16),
            "subject": subject,
            "name": name,
            "scopes": list(scopes),
            "claims": claims,
            "client_id": client_id,
            "revoked": False,
            "revocation_reason": None,
            "expiration": None if expires_in is None else now + int(expires_in * 1000),
            "last_used_at": None,
            "created_at": now,
            "updated_at": now,
        }
        secret = prefix + secrets.token_hex(24)
        self.machine_tokens[secret] = record
        return secret, record

    def machine_token(self, kind: str, secret: str) -> JSON:
        record = self.machine_tokens.get(secret)
        if record is None or record["kind"] != kind:
            raise not_found(kind.replace("_", " ").capitalize())
        record["last_used_at"] = self.tick()
        return record

    def revoke_machine_token(self, token_id: str, reason: str | None) -> JSON:
        for record in self.machine_tokens.values():
            if record["id"] == token_id:
                record["revoked"] = True
                record["revocation_reason"] = reason
                return self.touch(record)
        raise not_found()
