"""Models decode what Clerk sends today and what it may send tomorrow."""

from __future__ import annotations

import msgspec
import pytest

from clerk_async import AsyncClerk, ClerkDecodeError
from clerk_async.models import (
    JWKS,
    EmailAddress,
    EnterpriseConnection,
    MachineSecretKey,
    SAMLConnection,
    SessionRefresh,
    User,
)

from ._support import user_json
from .conftest import RecordingServer


def decode(data: object, cls: type) -> object:
    return msgspec.json.decode(msgspec.json.encode(data), type=cls)


def test_unknown_fields_are_ignored() -> None:
    user = decode(user_json(brand_new_field={"x": 1}, another=[1, 2]), User)
    assert isinstance(user, User) and user.id == "user_2abc"


def test_unknown_enum_values_decode_as_strings() -> None:
    user = user_json()
    user["object"] = "user_v2"
    user["email_addresses"][0]["verification"]["status"] = "quantum_verified"
    decoded = decode(user, User)
    assert isinstance(decoded, User)
    assert decoded.object == "user_v2"
    assert decoded.email_addresses[0].verification is not None
    assert decoded.email_addresses[0].verification.status == "quantum_verified"


def test_new_verification_strategy_and_unknown_variant_decode() -> None:
    email = user_json()["email_addresses"][0]
    email["verification"] = {
        "object": "verification_passkey_v9",
        "status": "verified",
        "strategy": "brain_scan",
        "attempts": None,
        "expire_at": None,
        "novel": True,
    }
    decoded = decode(email, EmailAddress)
    assert isinstance(decoded, EmailAddress)
    assert decoded.verification is not None
    assert decoded.verification.object == "verification_passkey_v9"
    assert decoded.verification.strategy == "brain_scan"


def test_missing_optional_fields_are_none_and_left_out_of_repr() -> None:
    user = decode(user_json(), User)
    assert isinstance(user, User)
    assert user.locale is None
    assert "locale=" not in repr(user)


def test_missing_required_field_is_rejected_by_the_model() -> None:
    data = user_json()
    del data["id"]
    with pytest.raises(msgspec.ValidationError, match="id"):
        decode(data, User)


def test_schemas_that_require_undeclared_fields_still_decode() -> None:
    # The spec lists `authenticatable` / `disable_jit_provisioning` as required without
    # declaring them.
    saml = {
        "object": "saml_connection",
        "id": "samlc_1",
        "name": "Acme",
        "domains": ["acme.com"],
        "idp_entity_id": None,
        "idp_sso_url": None,
        "idp_certificate": None,
        "idp_certificate_issued_at": None,
        "idp_certificate_expires_at": None,
        "acs_url": "https://x",
        "sp_entity_id": "sp",
        "sp_metadata_url": "https://m",
        "active": True,
        "provider": "saml_custom",
        "user_count": 0,
        "sync_user_attributes": True,
        "allow_subdomains": False,
        "allow_idp_initiated": False,
        "disable_additional_identifications": False,
        "allow_organization_account_linking": False,
        "force_authn": False,
        "login_hint": {"mode": "off"},
        "created_at": 1,
        "updated_at": 1,
    }
    assert isinstance(decode(saml, SAMLConnection), SAMLConnection)
    fields = {f.name for f in msgspec.structs.fields(EnterpriseConnection)}
    assert "authenticatable" not in fields


def test_jwks_keys_of_every_type_decode_into_one_key_model() -> None:
    keys = {
        "keys": [
            {"kty": "RSA", "kid": "ins_1", "use": "sig", "alg": "RS256", "n": "abc", "e": "AQAB"},
            {"kty": "OKP", "kid": "k2", "crv": "Ed25519", "x": "xyz"},
            {"kty": "EC", "kid": "k3", "crv": "P-256", "x": "a", "y": "b", "d": "private"},
            {"kty": "oct", "kid": "k4", "k": "secret"},
            {"kty": "future", "kid": "k5"},
        ]
    }
    jwks = decode(keys, JWKS)
    assert isinstance(jwks, JWKS)
    assert jwks.keys is not None
    assert [k.kty for k in jwks.keys] == ["RSA", "OKP", "EC", "oct", "future"]
    assert jwks.keys[0].n == "abc"
    assert "private" not in repr(jwks) and "secret" not in repr(jwks)


def test_session_refresh_decodes_either_variant() -> None:
    token = decode({"object": "token", "jwt": "eyJ"}, SessionRefresh)
    cookies = decode({"object": "cookies", "cookies": ["__session=abc"]}, SessionRefresh)
    assert isinstance(token, SessionRefresh) and token.jwt == "eyJ"
    assert isinstance(cookies, SessionRefresh) and cookies.cookies == ["__session=abc"]


def test_credentials_are_masked_in_repr() -> None:
    key = MachineSecretKey(object="machine_secret_key", secret="ak_live_topsecret")
    assert "topsecret" not in repr(key)
    assert "secret='***'" in repr(key)
    assert key.secret == "ak_live_topsecret"


def test_models_round_trip_to_plain_data() -> None:
    user = decode(user_json(), User)
    assert isinstance(user, User)
    assert user.to_dict()["email_addresses"][0]["email_address"] == "ada@example.com"


async def test_wrong_shape_from_server_is_a_decode_error_naming_the_operation(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users", {"not": "a list"})
    with pytest.raises(ClerkDecodeError, match=r"users\.list"):
        await clerk.users.list()
