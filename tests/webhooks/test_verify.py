"""Signature checks, cross-checked against the independent `standardwebhooks` package."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
import time

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

import clerk_async
from clerk_async.webhooks import (
    DeletedObjectEventData,
    UserDeletedEvent,
    WebhookVerificationError,
    WebhookVerifier,
    verify_webhook,
)

from ._signing import event_body, new_secret, sign

SECRET = new_secret()
BODY = event_body()


def refusal(
    payload: bytes | str, headers: dict[str, str], secret: str = SECRET, **kwargs: float
) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(payload, headers, secret, **kwargs)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    return info.value


# -- accepted deliveries ------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["svix", "webhook"])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_a_delivery_signed_by_standardwebhooks_verifies(prefix: str, as_bytes: bool) -> None:
    headers = sign(SECRET, BODY, prefix=prefix)
    event = verify_webhook(BODY.encode() if as_bytes else BODY, headers, SECRET)
    assert isinstance(event, UserDeletedEvent)
    assert event.type == "user.deleted"
    assert event.data == DeletedObjectEventData(object="user", id="user_2abc", deleted=True)
    assert event.instance_id == "ins_2abc"


def test_header_names_are_case_insensitive() -> None:
    headers = {name.upper(): value for name, value in sign(SECRET, BODY).items()}
    assert isinstance(verify_webhook(BODY, headers, SECRET), UserDeletedEvent)


def test_non_ascii_bodies_are_signed_over_their_utf8_bytes() -> None:
    body = event_body(first_name="Zoë 日本", slug="ünïcødé")
    event = verify_webhook(body.encode(), sign(SECRET, body), SECRET)
    assert isinstance(event, UserDeletedEvent)
    assert event.data.slug == "ünïcødé"


def test_secret_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    assert isinstance(verify_webhook(BODY, sign(SECRET, BODY)), UserDeletedEvent)


def test_secret_without_prefix_or_padding_is_accepted() -> None:
    # 31 random bytes: base64 with one padding character, which Svix secrets sometimes lose.
    raw = bytes(range(31))
    secret = "whsec_" + base64.b64encode(raw).decode()
    headers = sign(secret, BODY)
    for variant in (secret, secret.removeprefix("whsec_"), secret.rstrip("="), raw):
        assert isinstance(verify_webhook(BODY, headers, variant), UserDeletedEvent)


def test_any_matching_v1_entry_of_several_is_enough() -> None:
    headers = sign(SECRET, BODY)
    good = headers["svix-signature"]
    other = sign(new_secret(), BODY)["svix-signature"]
    # Rotated secrets: Svix sends one signature per active secret, space-separated.
    headers["svix-signature"] = f"{other} v1,!!!notbase64 v1 {good}"
    assert isinstance(verify_webhook(BODY, headers, SECRET), UserDeletedEvent)


def test_timestamp_just_inside_the_tolerance_is_accepted() -> None:
    now = int(time.time())
    for stamp in (now - 290, now + 290):
        assert isinstance(
            verify_webhook(BODY, sign(SECRET, BODY, timestamp=stamp), SECRET), UserDeletedEvent
        )


# -- refused deliveries -------------------------------------------------------------------


def test_tampered_body_is_refused() -> None:
    headers = sign(SECRET, BODY)
    tampered = BODY.replace("user_2abc", "user_2evil")
    assert refusal(tampered, headers).reason == "no_matching_signature"


def test_tampered_id_or_timestamp_is_refused() -> None:
    headers = sign(SECRET, BODY)
    assert refusal(BODY, {**headers, "svix-id": "msg_other"}).reason == "no_matching_signature"
    shifted = str(int(headers["svix-timestamp"]) - 1)
    assert refusal(BODY, {**headers, "svix-timestamp": shifted}).reason == "no_matching_signature"


def test_wrong_secret_is_refused() -> None:
    error = refusal(BODY, sign(new_secret(), BODY))
    assert error.reason == "no_matching_signature"
    assert "no v1 signature" in str(error)


def test_other_signature_versions_are_ignored() -> None:
    headers = sign(SECRET, BODY)
    digest = headers["svix-signature"].split(",", 1)[1]
    headers["svix-signature"] = f"v2,{digest} v1a,{digest} {digest}"
    assert refusal(BODY, headers).reason == "no_matching_signature"


def test_stale_timestamp_is_refused() -> None:
    stamp = int(time.time()) - 301
    error = refusal(BODY, sign(SECRET, BODY, timestamp=stamp))
    assert error.reason == "timestamp_too_old"
    assert "300s tolerance" in str(error)


def test_future_timestamp_is_refused() -> None:
    stamp = int(time.time()) + 301
    assert refusal(BODY, sign(SECRET, BODY, timestamp=stamp)).reason == "timestamp_too_new"


def test_tolerance_is_configurable() -> None:
    headers = sign(SECRET, BODY, timestamp=int(time.time()) - 100)
    assert refusal(BODY, headers, tolerance=60).reason == "timestamp_too_old"
    assert isinstance(verify_webhook(BODY, headers, SECRET, tolerance=200), UserDeletedEvent)


@pytest.mark.parametrize("missing", ["id", "timestamp", "signature"])
def test_missing_header_is_refused(missing: str) -> None:
    headers = sign(SECRET, BODY)
    del headers[f"svix-{missing}"]
    error = refusal(BODY, headers)
    assert error.reason == "missing_header"
    assert f"svix-{missing}" in str(error)


@pytest.mark.parametrize(
    "stamp", ["abc", "-5", "1e9", "0x10", "1" * 30, "12.", ".5", "1.5.5", "nan", "inf", "9" * 12]
)
def test_malformed_timestamp_is_refused(stamp: str) -> None:
    headers = {**sign(SECRET, BODY), "svix-timestamp": stamp}
    assert refusal(BODY, headers).reason == "malformed_timestamp"


@pytest.mark.parametrize("secret", ["whsec_c2VjcmV0c2VjcmV0*", "whsec_", "whsec_a", "   "])
def test_invalid_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        WebhookVerifier(secret)
    assert info.value.reason == "invalid_secret"
    assert "c2VjcmV0" not in str(info.value) and "c2VjcmV0" not in repr(info.value)


def test_missing_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_WEBHOOK_SIGNING_SECRET", raising=False)
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(BODY, sign(SECRET, BODY))
    assert info.value.reason == "missing_secret"
    assert "CLERK_WEBHOOK_SIGNING_SECRET" in str(info.value)


def test_verifier_repr_hides_the_secret() -> None:
    verifier = WebhookVerifier(SECRET, tolerance=30)
    assert repr(verifier) == "WebhookVerifier(tolerance=30)"
    assert SECRET.removeprefix("whsec_") not in repr(verifier)


def test_error_is_a_clerk_error_and_survives_pickling() -> None:
    error = refusal(BODY + " ", sign(SECRET, BODY))
    assert isinstance(error, clerk_async.ClerkError)
    assert clerk_async.WebhookVerificationError is WebhookVerificationError
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.reason) == (type(error), str(error), error.reason)


@pytest.mark.parametrize("fraction", [".123", ".5", ".999999", ".0"])
def test_fractional_timestamp_is_read_as_standard_webhooks_reads_it(fraction: str) -> None:
    now = int(time.time())
    headers = sign(SECRET, BODY, timestamp=now, prefix="webhook")
    headers["webhook-timestamp"] = f"{now}{fraction}"
    # The reference accepts it (signature over the whole seconds), and so do we.
    standardwebhooks.Webhook(SECRET).verify(BODY, headers, json_parse=False)
    assert isinstance(verify_webhook(BODY, headers, SECRET), UserDeletedEvent)
    # A signature over the fractional text itself is not what the scheme signs.
    literal = sign(SECRET, BODY, timestamp=now)
    literal["svix-timestamp"] = f"{now}{fraction}"
    literal["svix-signature"] = _signature_over(f"msg_2abc.{now}{fraction}.{BODY}")
    assert refusal(BODY, literal).reason == "no_matching_signature"


def test_fractional_timestamp_outside_the_tolerance_is_refused() -> None:
    stamp = int(time.time()) - 301
    headers = {**sign(SECRET, BODY, timestamp=stamp), "svix-timestamp": f"{stamp}.5"}
    assert refusal(BODY, headers).reason == "timestamp_too_old"


def _signature_over(content: str) -> str:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, content.encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# -- agreement with standardwebhooks on arbitrary input ------------------------------------


@settings(max_examples=60, deadline=None, database=None)
@given(
    body=st.text(max_size=200),
    msg_id=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30
    ),
    flip=st.integers(min_value=0),
)
def test_agrees_with_standardwebhooks(body: str, msg_id: str, flip: int) -> None:
    verifier = WebhookVerifier(SECRET)
    reference = standardwebhooks.Webhook(SECRET)
    headers = sign(SECRET, body, msg_id=msg_id, prefix="webhook")
    verifier.check(body, headers)
    reference.verify(body, headers, json_parse=False)
    # Flipping one bit of the body: both refuse.
    data = bytearray(body.encode() or b"x")
    data[flip % len(data)] ^= 0x01
    with pytest.raises(WebhookVerificationError):
        verifier.check(bytes(data), headers)
    try:
        altered = data.decode()
    except UnicodeDecodeError:
        return  # standardwebhooks only takes text
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        reference.verify(altered, headers, json_parse=False)


@settings(max_examples=60, deadline=None, database=None)
@given(
    offset=st.integers(min_value=-400, max_value=400),
    fraction=st.text(alphabet="0123456789", min_size=1, max_size=9),
)
def test_fractional_timestamps_agree_with_standardwebhooks(offset: int, fraction: str) -> None:
    now = int(time.time()) + offset
    headers = sign(SECRET, BODY, timestamp=now, prefix="webhook")
    headers["webhook-timestamp"] = f"{now}.{fraction}"
    try:
        standardwebhooks.Webhook(SECRET).verify(BODY, headers, json_parse=False)
    except standardwebhooks.WebhookVerificationError:
        reference_accepts = False
    else:
        reference_accepts = True
    try:
        WebhookVerifier(SECRET).check(BODY, headers)
    except WebhookVerificationError:
        accepts = False
    else:
        accepts = True
    # Both read the same instant; only a delivery within a few milliseconds of the window's
    # edge may be judged differently, as the two clocks are read a moment apart.
    if abs(abs(offset) - 300) > 1:
        assert accepts == reference_accepts


def test_a_parsed_body_gets_a_hint_to_pass_the_raw_one() -> None:
    from clerk_async.webhooks import WebhookVerifier

    verifier = WebhookVerifier(SECRET)
    with pytest.raises(WebhookVerificationError, match="raw request body") as caught:
        verifier.verify({"type": "user.created"}, {})  # type: ignore[arg-type]
    assert caught.value.reason == "invalid_payload"
