"""Signature verification of Clerk's webhook deliveries (the Svix / Standard Webhooks scheme).

Each delivery carries three headers: a message id, a Unix timestamp and one or more signatures.
A ``v1`` signature is ``base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))`` where the key
is the base64 part of the endpoint's ``whsec_…`` signing secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone

import msgspec

from .._errors import WebhookVerificationError
from ._events import EVENT_TYPES, Event, KnownEvent, UnknownEvent

__all__ = ["SECRET_ENV", "WebhookVerifier", "decode_event", "verify_webhook"]

SECRET_ENV = "CLERK_WEBHOOK_SIGNING_SECRET"
DEFAULT_TOLERANCE = 300

_PREFIX = "whsec_"
# Svix's spelling first: it is what Clerk sends. The Standard Webhooks names are accepted too.
_HEADERS = {
    "id": ("svix-id", "webhook-id"),
    "timestamp": ("svix-timestamp", "webhook-timestamp"),
    "signature": ("svix-signature", "webhook-signature"),
}
# Seconds since 1970 in plain ASCII decimal, with an optional fraction (Standard Webhooks
# reads the header as a float); the length caps keep parsing cheap on hostile input.
_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


class _Probe(msgspec.Struct):
    type: str


_probe = msgspec.json.Decoder(_Probe).decode
_known_decoder: msgspec.json.Decoder[KnownEvent] = msgspec.json.Decoder(KnownEvent)
_known = _known_decoder.decode
_unknown = msgspec.json.Decoder(UnknownEvent).decode


def decode_event(payload: bytes | str) -> Event:
    """Decode an already verified payload into its typed event.

    A type this release does not know becomes an `UnknownEvent` holding the decoded ``data``;
    fields the models do not declare are ignored.

    Raises:
        WebhookVerificationError: ``reason="invalid_payload"`` when the body is not a JSON
            object with a string ``type``, or its ``data`` does not fit the event's model.
    """
    try:
        event_type = _probe(payload).type
        if event_type in EVENT_TYPES:
            return _known(payload)
        return _unknown(payload)
    except msgspec.MsgspecError as exc:
        raise WebhookVerificationError(
            f"the webhook payload is not a Clerk event: {exc}", reason="invalid_payload"
        ) from exc


def _raw_body(payload: object) -> bytes:
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise WebhookVerificationError(
        "webhook verification needs the raw request body (bytes or str) exactly as received,"
        f" not {type(payload).__name__}: the signature covers those bytes. Pass"
        " `await request.body()`, or use the verified_webhook dependency",
        reason="invalid_payload",
    )


class WebhookVerifier:
    """Verifies deliveries for one signing secret, decoded once.

    Args:
        secret: the endpoint's signing secret (``whsec_`` followed by base64; the prefix may be
            left out), or the raw key as bytes. Defaults to the
            ``CLERK_WEBHOOK_SIGNING_SECRET`` environment variable.
        tolerance: how many seconds the delivery's timestamp may differ from this machine's
            clock, either way. Protects against replays of captured deliveries.

    Raises:
        WebhookVerificationError: ``missing_secret`` or ``invalid_secret``.
    """

    __slots__ = ("_key", "tolerance")

    def __init__(self, secret: str | bytes | None = None, *, tolerance: float = DEFAULT_TOLERANCE):
        if tolerance < 0:
            raise ValueError("tolerance must not be negative")
        self._key = _signing_key(secret)
        self.tolerance = tolerance

    def __repr__(self) -> str:
        return f"WebhookVerifier(tolerance={self.tolerance!r})"

    def verify(self, payload: bytes | str, headers: Mapping[str, str]) -> Event:
        """Check the delivery's signature and timestamp, then decode it.

        Args:
            payload: the raw request body, exactly as received: re-serialised JSON will not
                match the signature.
            headers: the request headers, in any mapping; names are matched case-insensitively.

        Returns:
            The typed event (`UserCreatedEvent`, …), or `UnknownEvent` for a new event type.

        Raises:
            WebhookVerificationError: see its ``reason`` values.
        """
        body = _raw_body(payload)
        self.check(body, headers)
        return decode_event(body)

    def check(self, payload: bytes | str, headers: Mapping[str, str]) -> None:
        """Like `verify`, without decoding the payload."""
        body = _raw_body(payload)
        found = _find_headers(headers)
        msg_id, signatures = found["id"], found["signature"]
        sent_at, signed_stamp = _timestamp(found["timestamp"])
        expected = hmac.new(
            self._key, msg_id.encode() + b"." + signed_stamp + b"." + body, hashlib.sha256
        ).digest()
        if not _matches(expected, signatures):
            raise WebhookVerificationError(
                "no v1 signature of the webhook matches its body and the signing secret",
                reason="no_matching_signature",
            )
        # Checked after the signature, so a stale timestamp is reported only on genuine
        # deliveries: a sign of replay or clock skew, not of forgery.
        skew = sent_at - time.time()
        if skew < -self.tolerance:
            raise WebhookVerificationError(
                f"the webhook was signed {-skew:.0f}s ago, more than the {self.tolerance:g}s"
                " tolerance",
                reason="timestamp_too_old",
            )
        if skew > self.tolerance:
            raise WebhookVerificationError(
                f"the webhook is timestamped {skew:.0f}s in the future, more than the"
                f" {self.tolerance:g}s tolerance",
                reason="timestamp_too_new",
            )


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Event:
    """Verify a Clerk webhook delivery and decode it into a typed event.

    Args:
        payload: the raw request body (bytes or str), exactly as received.
        headers: the request headers, in any mapping; names are matched case-insensitively.
        secret: the endpoint's ``whsec_…`` signing secret; defaults to the
            ``CLERK_WEBHOOK_SIGNING_SECRET`` environment variable.
        tolerance: the accepted difference, in seconds, between the delivery's timestamp and
            this machine's clock.

    Returns:
        The typed event, such as `UserCreatedEvent`, or `UnknownEvent` for a type this
        release does not know.

    Raises:
        WebhookVerificationError: the delivery is refused; ``reason`` says why.
    """
    return WebhookVerifier(secret, tolerance=tolerance).verify(payload, headers)


def _signing_key(secret: str | bytes | None) -> bytes:
    if secret is None:
        secret = os.environ.get(SECRET_ENV)
        if not secret:
            raise WebhookVerificationError(
                f"no webhook signing secret: pass secret= or set {SECRET_ENV}",
                reason="missing_secret",
            )
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.strip().removeprefix(_PREFIX)
        try:
            # Secrets are sometimes copied without their base64 padding.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            key = b""
    if not key:
        raise WebhookVerificationError(
            "the webhook signing secret is not `whsec_` followed by base64",
            reason="invalid_secret",
        )
    return key


def _timestamp(header: str) -> tuple[float, bytes]:
    """The delivery's time, and the text its signature covers, read as Standard Webhooks
    reads them: the header as a (possibly fractional) number of seconds, whose whole seconds
    are what is signed (``1666648250.123`` is signed as ``1666648250``)."""
    if _TIMESTAMP.fullmatch(header):
        try:
            moment = datetime.fromtimestamp(float(header), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            pass  # beyond the calendar: malformed, like any other unreadable time
        else:
            return moment.timestamp(), str(math.floor(moment.timestamp())).encode()
    raise WebhookVerificationError(
        f"the webhook timestamp header is not a Unix time in seconds: {header[:40]!r}",
        reason="malformed_timestamp",
    )


def _find_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {name.lower(): value for name, value in headers.items()}
    found = {}
    for key, names in _HEADERS.items():
        value = next((lowered[n] for n in names if lowered.get(n)), None)
        if value is None:
            raise WebhookVerificationError(
                f"the webhook has no {names[0]} header (nor {names[1]})", reason="missing_header"
            )
        found[key] = value.strip()
    return found


def _matches(expected: bytes, header: str) -> bool:
    """Whether any ``v1,<base64>`` entry of a space-separated signature header is ``expected``."""
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, candidate):
            return True
    return False
