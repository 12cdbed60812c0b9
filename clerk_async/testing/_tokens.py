"""The fake's signing key and the session tokens it signs, with Clerk's v1 and v2 claims."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from joserfc import jws
from joserfc.jwk import RSAKey

__all__ = ["SigningKey", "session_claims"]

ISSUER = "https://fake.clerk.accounts.dev"


class SigningKey:
    """An RSA key pair as Clerk uses one: RS256, published in the JWKS under its ``kid``."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = RSAKey.generate_key(2048)
        self.public_pem: str = self._key.as_pem(private=False).decode()
        self.jwk: dict[str, Any] = {
            **self._key.as_dict(private=False),
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        payload = msgspec.json.encode(claims)
        token: str = jws.serialize_compact(header, payload, self._key, algorithms=["RS256"])
        return token

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _compact_permissions(permissions: Iterable[str]) -> tuple[str, str, str]:
    """``org:<feature>:<permission>`` keys as a v2 token carries them: ``fea`` (the features,
    ``o:`` prefixed), ``per`` (the permission names) and ``fpm`` (one bitmask per feature)."""
    features: list[str] = []
    names: list[str] = []
    pairs = []
    for key in permissions:
        parts = key.split(":")
        if len(parts) != 3 or parts[0] != "org":
            raise ValueError(
                f"an organization permission looks like org:feature:action, not {key!r}"
            )
        feature, name = parts[1], parts[2]
        if feature not in features:
            features.append(feature)
        if name not in names:
            names.append(name)
        pairs.append((feature, name))
    masks = [0] * len(features)
    for feature, name in pairs:
        masks[features.index(feature)] |= 1 << names.index(name)
    return (
        ",".join(f"o:{f}" for f in features),
        ",".join(names),
        ",".join(str(m) for m in masks),
    )


def session_claims(
    user_id: str,
    session_id: str,
    *,
    org_id: str | None,
    org_slug: str | None,
    org_role: str | None,
    org_permissions: Iterable[str],
    claims: Mapping[str, Any] | None,
    expires_in: float,
    not_before: float | None,
    issued_at: float | None,
    azp: str | None,
    version: int,
) -> dict[str, Any]:
    """The claims of a Clerk session token of ``version`` 1 or 2."""
    if version not in (1, 2):
        raise ValueError(f"version must be 1 or 2, not {version!r}")
    for name, value in (
        ("expires_in", expires_in),
        ("not_before", not_before),
        ("issued_at", issued_at),
    ):
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number of seconds, not {value!r}")
    iat = int(time.time() if issued_at is None else issued_at)
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "sid": session_id,
        "iat": iat,
        "nbf": int(iat - 5 if not_before is None else not_before),
        "exp": int(iat + expires_in),
        "fva": [0, -1],
    }
    if azp is not None:
        payload["azp"] = azp
    permissions = list(org_permissions)
    if version == 2:
        payload["v"] = 2
        if org_id is not None:
            organization: dict[str, Any] = {"id": org_id}
            if org_slug is not None:
                organization["slg"] = org_slug
            if org_role is not None:
                organization["rol"] = org_role.removeprefix("org:")
            if permissions:
                payload["fea"], organization["per"], organization["fpm"] = _compact_permissions(
                    permissions
                )
            payload["o"] = organization
    elif org_id is not None:
        payload.update(org_id=org_id, org_slug=org_slug, org_role=org_role)
        payload["org_permissions"] = permissions
    payload.update(claims or {})
    return payload
