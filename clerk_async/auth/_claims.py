"""Typed claims of Clerk session tokens (v1 and v2) and of JWT machine tokens."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ActorClaim", "OrganizationClaim", "SessionClaims", "with_org_prefix"]

# The feature scopes of ``fea`` that apply to organizations (``u`` alone is the user's).
_ORG_FEATURE_SCOPES = frozenset({"o", "ou", "uo"})


def with_org_prefix(value: str) -> str:
    """``value`` with exactly one leading ``org:``, however many it had (``admin``,
    ``org:admin`` and ``org:org:admin`` all become ``org:admin``), as Clerk compares roles
    and permissions."""
    while value.startswith("org:"):
        value = value[4:]
    return "org:" + value


class OrganizationClaim(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The compact ``o`` claim of a v2 session token: the active organization."""

    id: str | None = None
    slg: str | None = None
    rol: str | None = None
    per: str | None = None
    fpm: str | None = None


class ActorClaim(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The ``act`` claim: who is impersonating the user, when someone is."""

    sub: str | None = None
    iss: str | None = None
    sid: str | None = None


class SessionClaims(msgspec.Struct, kw_only=True, omit_defaults=True, dict=True):
    """The verified claims of a token.

    The registered claims and Clerk's own are typed fields. For v2 tokens the organization
    fields (``org_id``, ``org_slug``, ``org_role``, ``org_permissions``) are filled from the
    compact ``o`` and ``fea`` claims the same way Clerk's JavaScript SDK expands them, so code
    reads them identically for both versions. Custom claims added by a JWT template are in
    :meth:`to_dict`, which decodes the payload only when asked.
    """

    sub: str | None = None
    sid: str | None = None
    iss: str | None = None
    azp: str | None = None
    aud: str | list[str] | None = None
    exp: float | None = None
    nbf: float | None = None
    iat: float | None = None
    jti: str | None = None
    v: int | None = None
    o: OrganizationClaim | None = None
    fea: str | None = None
    fva: list[int] | None = None
    act: ActorClaim | None = None
    sts: str | None = None
    pla: str | None = None
    org_id: str | None = None
    org_slug: str | None = None
    org_role: str | None = None
    org_permissions: list[str] | None = None
    scope: str | None = None
    scp: list[str] | None = None
    scopes: str | list[str] | None = None
    client_id: str | None = None

    def __post_init__(self) -> None:
        if self.v == 2 and self.o is not None:
            self.org_id = self.o.id
            self.org_slug = self.o.slg
            self.org_role = with_org_prefix(self.o.rol) if self.o.rol else None
            self.org_permissions = expand_permissions(self.fea, self.o.per, self.o.fpm)

    @property
    def user_id(self) -> str | None:
        return self.sub

    @property
    def session_id(self) -> str | None:
        return self.sid

    @property
    def session_status(self) -> str | None:
        return self.sts

    def to_dict(self) -> dict[str, Any]:
        """Every claim of the payload as sent, including custom ones."""
        raw: bytes | None = getattr(self, "_payload", None)
        if raw is None:
            return msgspec.to_builtins(self)  # type: ignore[no-any-return]
        decoded: dict[str, Any] = msgspec.json.decode(raw)
        return decoded


def _org_features(fea: str | None) -> list[str]:
    """The features of ``fea`` scoped to organizations (``o:``, ``ou:`` or ``uo:``)."""
    if not fea:
        return []
    features = []
    for item in fea.split(","):
        scope, _, name = item.strip().partition(":")
        if scope in _ORG_FEATURE_SCOPES:
            features.append(name)
    return features


def expand_permissions(fea: str | None, per: str | None, fpm: str | None) -> list[str]:
    """Expand the bitmask encoding of a v2 token into ``org:<feature>:<permission>`` keys.

    ``per`` lists the permission names; ``fpm`` holds one decimal bitmask per organization
    feature of ``fea``, where bit ``i`` (least significant first) grants ``per[i]``. A mask
    that is not a decimal number grants nothing, as in Clerk's JavaScript SDK, which reads
    masks of any length.
    """
    if not per or not fpm:
        return []
    permissions = [p.strip() for p in per.split(",")]
    masks = fpm.split(",")
    granted: list[str] = []
    for index, feature in enumerate(_org_features(fea)):
        if index >= len(masks):
            break
        text = masks[index].strip()
        if not text.isascii() or not text.isdigit():
            continue
        # The low n bits of a decimal number depend only on its last n digits (10**n is a
        # multiple of 2**n), so a mask of any length is read from a bounded suffix.
        tail = text[-len(permissions) :]
        try:
            mask = int(tail)
        except ValueError:  # more permissions than Python parses digits at once
            continue
        for bit, permission in enumerate(permissions):
            if mask >> bit & 1:
                granted.append(f"org:{feature}:{permission}")
    return granted
