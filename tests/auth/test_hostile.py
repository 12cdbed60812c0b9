"""Malformed tokens of every kind: refused as token-invalid, quickly, never with a crash."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import MAX_HEADER_LENGTH, MAX_TOKEN_LENGTH, authenticate_request, verify_token

from .conftest import KID, SECRET_KEY, JWKSServer, Keys, b64, b64json, default_claims

Sign = Callable[..., str]
_HEADER = {"alg": "RS256", "typ": "JWT", "kid": KID}


def _with_header(raw_header: bytes, payload: str = "e30", signature: str = "c2ln") -> str:
    return f"{b64(raw_header)}.{payload}.{signature}"


def _raw_header_corpus() -> list[tuple[str, bytes]]:
    deep = b'{"alg":"RS256","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    return [
        ("nested 5000 deep", deep),
        ("nested object", b'{"alg":"RS256","x":' + b'{"a":' * 20 + b"1" + b"}" * 20 + b"}"),
        ("repeated alg", b'{"alg":"RS256","kid":"k","alg":"none"}'),
        ("repeated alg via escape", b'{"alg":"RS256","kid":"k","\\u0061lg":"HS256"}'),
        ("not an object", b'["RS256"]'),
        ("a string", b'"RS256"'),
        ("null", b"null"),
        ("huge number", b'{"alg":"RS256","kid":"k","x":1e999}'),
        ("huge integer", b'{"alg":"RS256","kid":"k","x":' + b"9" * 5000 + b"}"),
        ("NaN", b'{"alg":"RS256","kid":"k","x":NaN}'),
        ("not UTF-8", b'{"alg":"RS256","kid":"\xff\xfe"}'),
        ("alg of the wrong type", b'{"alg":256,"kid":"k"}'),
        ("trailing garbage", b'{"alg":"RS256","kid":"k"}xx'),
        ("crit", b'{"alg":"RS256","kid":"k","crit":["exp"],"exp":1}'),
        ("empty crit", b'{"alg":"RS256","kid":"k","crit":[]}'),
        ("crit not a list", b'{"alg":"RS256","kid":"k","crit":"b64"}'),
    ]


async def test_malformed_headers_are_token_invalid(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    for name, raw in _raw_header_corpus():
        token = _with_header(raw)
        started = time.perf_counter()
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(token)
        assert info.value.reason == "token-invalid", (name, info.value)
        state = await clerk.authenticate_request({"Authorization": f"Bearer {token}"})
        assert (state.is_signed_in, state.reason) == (False, "token-invalid"), name
        assert time.perf_counter() - started < 0.5, name
    assert jwks_server.fetches == 0  # refused before any key was needed


async def test_size_caps(clerk: AsyncClerk, sign: Sign) -> None:
    long_header = _with_header(json.dumps({**_HEADER, "pad": "A" * MAX_HEADER_LENGTH}).encode())
    too_long = sign(default_claims(pad="A" * MAX_TOKEN_LENGTH))
    for token in (long_header, too_long, "a" * 10_000_000):
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(token)
        assert info.value.reason == "token-invalid"
        assert "longer than" in info.value.message
    assert await clerk.verify_token(sign(default_claims(pad="A" * 8000)))  # within the cap


async def test_the_payload_is_not_decoded_before_the_signature(
    clerk: AsyncClerk, keys: Keys, sign: Sign
) -> None:
    # An unsigned payload nested 5,000 deep (or not JSON at all) never reaches a decoder:
    # it is refused for its signature.
    head = b64json(_HEADER)
    for payload in (b"[" * 5000 + b"]" * 5000, b"\xff\xfe", b"not json"):
        token = f"{head}.{b64(payload)}.{b64(b'x' * 256)}"
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(token)
        assert info.value.reason == "token-invalid-signature"
        state = await clerk.authenticate_request({"Authorization": f"Bearer {token}"})
        assert state.reason == "token-invalid-signature"


async def test_malformed_signed_payloads_are_token_invalid(clerk: AsyncClerk, sign: Sign) -> None:
    claims = json.dumps(default_claims())[1:-1]
    corpus = {
        "nested": b'{"x":' + b"[" * 3000 + b"]" * 3000 + b"," + claims.encode() + b"}",
        "repeated sub": ('{"sub":"user_other",' + claims + "}").encode(),
        "repeated sub via escape": ("{" + claims + ',"s\\u0075b":"user_other"}').encode(),
        "a list": b"[1,2]",
        "a number": b"1",
        "huge exp": ('{"exp":1e999,' + claims.replace('"exp"', '"old_exp"') + "}").encode(),
        "huge custom number": ("{" + claims + ',"big":' + "9" * 5000 + "}").encode(),
        "not UTF-8": ("{" + claims + ',"name":"').encode() + b'\xff"}',
        "exp a boolean": ('{"exp":true,' + claims.replace('"exp"', '"old_exp"') + "}").encode(),
    }
    for name, payload in corpus.items():
        token = sign(payload)
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(token)
        assert info.value.reason == "token-invalid", (name, info.value)
        state = await clerk.authenticate_request({"Authorization": f"Bearer {token}"})
        assert state.reason == "token-invalid", name


# Hypothesis examples cannot use function-scoped fixtures: a client pointed at a closed port
# with the PEM key, so nothing needs the network (opaque tokens fail to connect, quickly).
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_PEM_KEY: list[str] = []


@pytest.fixture(autouse=True)
def _pem(keys: Keys) -> None:
    _PEM_KEY[:] = [keys.public_pem]


async def _state_for(headers: dict[str, str]) -> None:
    async with AsyncClerk(SECRET_KEY, server_url="http://127.0.0.1:9", retry=False) as clerk:
        for accepts in ("session_token", "any"):
            state = await authenticate_request(
                clerk, headers, accepts_token=accepts, jwt_key=_PEM_KEY[0]
            )
            assert not state.is_signed_in and state.reason


@_FUZZ
@given(st.binary(max_size=400))
async def test_any_byte_string_gives_a_state(data: bytes) -> None:
    text = data.decode("latin-1")
    await _state_for({"Authorization": f"Bearer {text}"})
    await _state_for({"Cookie": f"__session={text}"})
    await _state_for({"Authorization": "Bearer " + b64(data) + "." + b64(data) + "." + b64(data)})


@_FUZZ
@given(st.text(max_size=300))
async def test_any_string_gives_a_state(text: str) -> None:
    await _state_for({"Authorization": f"Bearer {text}"})
    await _state_for({"Authorization": text})
    await _state_for({"Cookie": text})


@_FUZZ
@given(st.binary(max_size=200), st.binary(max_size=200))
async def test_any_header_and_payload_give_a_state(header: bytes, payload: bytes) -> None:
    await _state_for({"Authorization": f"Bearer {b64(header)}.{b64(payload)}.{b64(b's')}"})


async def test_verify_token_standalone_refuses_crit(keys: Keys) -> None:
    token = _with_header(json.dumps({**_HEADER, "crit": ["b64"], "b64": False}).encode())
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(token, jwt_key=keys.public_pem)
    assert info.value.reason == "token-invalid"
    assert "header extensions" in info.value.message


async def test_cookie_headers_are_read_in_linear_time(clerk: AsyncClerk, sign: Sign) -> None:
    token = sign()
    hostile = [
        "a=b; " * 200_000 + f"__session={token}",
        "__session" * 500_000,
        '__session="' + "\\\\" * 1_000_000,
        "=" * 2_000_000 + "__session",
    ]
    for cookie in hostile:
        started = time.perf_counter()
        state = await clerk.authenticate_request({"Cookie": cookie})
        assert time.perf_counter() - started < 0.5
        assert state.is_signed_in == cookie.endswith(token)
    # The first __session wins, as in Clerk's cookie parsing; quotes are removed.
    state = await clerk.authenticate_request({"Cookie": f'__session="{token}"; __session=x'})
    assert state.is_signed_in
    state = await clerk.authenticate_request({"Cookie": f"theme=dark;__session={token} ;x=1"})
    assert state.is_signed_in
