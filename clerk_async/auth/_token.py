"""Splitting a compact JWS without trusting it: bounded sizes, a strict header, lazy claims.

Only the header is decoded before the signature is checked (it names the key and the
algorithm); the payload stays bytes until the signature over it has been verified, so an
unsigned payload never reaches a JSON decoder.
"""

from __future__ import annotations

import binascii
import functools
import json
import math
import re
from typing import Any

import msgspec
from joserfc.util import urlsafe_b64decode

from .._errors import TokenVerificationError
from ._claims import SessionClaims

__all__ = [
    "CATEGORY_IGNORE",
    "CATEGORY_JWT_TEMPLATE",
    "CATEGORY_M2M_TOKEN",
    "CATEGORY_SESSION_TOKEN",
    "MAX_HEADER_LENGTH",
    "MAX_TOKEN_LENGTH",
    "ParsedToken",
]

# Clerk's tokens are a few hundred bytes to a few kB; refusing huge ones bounds the work an
# anonymous caller can cause before the signature is checked.
MAX_TOKEN_LENGTH = 16 * 1024
# A Clerk header is about 100 characters of base64url; 1 kB leaves room for any real one.
MAX_HEADER_LENGTH = 1024
# JOSE headers are flat objects (``crit`` is the only list); a few brackets is plenty.
_MAX_HEADER_BRACKETS = 8

# The header ``cat`` tags that tell apart the JWT classes an instance signs with one key
# (the values are Clerk's, shared by its SDKs). Instances that opted out of tagging stamp
# CATEGORY_IGNORE on every class, so it says nothing about the class.
CATEGORY_SESSION_TOKEN = "cl_B7d4PD111AAA"
CATEGORY_JWT_TEMPLATE = "cl_B7d4PD222AAA"
CATEGORY_M2M_TOKEN = "cl_B7d4PD333AAA"
CATEGORY_IGNORE = "cl_I7d4PD111III"


class _Header(msgspec.Struct, frozen=True):
    alg: str | None = None
    typ: str | None = None
    kid: str | None = None
    cat: str | None = None
    crit: list[str] | None = None


_decode_header = msgspec.json.Decoder(_Header).decode
_decode_claims = msgspec.json.Decoder(SessionClaims).decode


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("an object repeats a key")
    return mapping


# Python's decoder, used only to find repeated keys (msgspec keeps the last one silently):
# two readers of one token must never see two different values.
_duplicate_check = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_refuse_constant, parse_float=_finite_float
).decode


def invalid(message: str) -> TokenVerificationError:
    """A ``token-invalid`` error: the token is malformed."""
    return TokenVerificationError("token-invalid", message)


def _b64(part: bytes, what: str) -> bytes:
    try:
        return urlsafe_b64decode(part)
    except (binascii.Error, ValueError):
        raise invalid(f"the token's {what} is not valid base64url") from None


# Clerk's claims nest a few levels (``o``, ``act``, a JWT template's own claims); the JSON
# parsers' own limits differ between Python versions, so the depth is bounded here.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_A_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))


def _depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (brackets inside strings not counted)."""
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b'""', raw).translate(None, _NOT_A_BRACKET):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _strict_json(raw: bytes, what: str) -> None:
    """Refuse deep nesting, repeated keys (and NaN/Infinity); the typed decode has already run."""
    if _depth(raw) > MAX_JSON_DEPTH:
        raise invalid(f"the token's {what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        _duplicate_check(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise invalid(f"the token's {what} is not strict JSON: {exc}") from None


# A client sends the same session token with every request until it is refreshed, so the
# payloads that passed are kept: the second parser runs once per token, not per request.
# Only payloads whose signature verified get here, and refused ones are never kept.
@functools.lru_cache(maxsize=256)
def _check_payload(payload: bytes) -> None:
    _strict_json(payload, "payload")


# An instance signs every token with the same few headers, so decoded headers are kept:
# the strict checks then cost nothing on the hot path. Refused headers are never kept.
@functools.lru_cache(maxsize=256)
def _parse_header(encoded: bytes) -> _Header:
    raw = _b64(encoded, "header")
    if raw.count(b"{") + raw.count(b"[") > _MAX_HEADER_BRACKETS:
        raise invalid("the token's header is nested too deeply")
    try:
        header = _decode_header(raw)
    except (msgspec.MsgspecError, RecursionError) as exc:
        raise invalid(f"the token's header is not a valid JOSE header: {exc}") from None
    _strict_json(raw, "header")
    if header.crit is not None:
        # RFC 7515 section 4.1.11: extensions listed as critical must be understood; this
        # verifier understands none, so any ``crit`` is refused.
        raise invalid(
            f"the token requires header extensions this verifier does not know: {header.crit[:5]!r}"
        )
    return header


class ParsedToken:
    """A compact JWS split, with its header decoded; nothing in it is trusted yet."""

    __slots__ = (
        "_claims",
        "_payload",
        "alg",
        "cat",
        "kid",
        "signature",
        "signing_input",
        "typ",
    )

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise invalid("the token is empty or not a string")
        if len(token) > MAX_TOKEN_LENGTH:
            raise invalid(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        try:
            data = token.encode("ascii")
        except UnicodeEncodeError:
            raise invalid("the token holds non-ASCII characters") from None
        parts = data.split(b".")
        if len(parts) != 3:
            raise invalid("a JWT has three dot-separated parts")
        if len(parts[0]) > MAX_HEADER_LENGTH:
            raise invalid(f"the token's header is longer than {MAX_HEADER_LENGTH} characters")
        header = _parse_header(parts[0])
        self._payload = _b64(parts[1], "payload")
        self.signature = _b64(parts[2], "signature")
        self.alg = header.alg
        self.typ = header.typ
        self.kid = header.kid
        self.cat = header.cat
        self.signing_input = data[: len(parts[0]) + 1 + len(parts[1])]
        self._claims: SessionClaims | None = None

    def decode_claims(self) -> SessionClaims:
        """The payload as typed claims, decoded once. Call only after the signature passed."""
        claims = self._claims
        if claims is None:
            payload = self._payload
            try:
                claims = _decode_claims(payload)
            except (msgspec.MsgspecError, RecursionError) as exc:
                raise invalid(f"the payload is not a valid claims object: {exc}") from None
            _check_payload(payload)
            claims._payload = payload  # type: ignore[attr-defined]
            self._claims = claims
        return claims
