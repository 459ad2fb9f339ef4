"""Signed webhooks to destinations: the body, the headers, and the receiver's check (no I/O).

A delivery is one POST of :func:`body` with three headers:

* ``X-Hotline-Timestamp``: unix seconds when it was signed;
* ``X-Hotline-Signature``: ``sha256=`` + hex HMAC-SHA256 with the destination's secret over
  ``"<timestamp>.<raw body>"`` (the timestamp is signed, so an old request cannot be replayed
  with a new one);
* ``X-Hotline-Delivery``: the delivery id, the same on every attempt of one delivery: the
  idempotency key a receiver keeps to apply each delivery once.

:func:`verify` is what a receiver runs (it is small enough to copy, docs/deliveries.md): the
signature compared in constant time (:func:`hmac.compare_digest`), then the timestamp within
``tolerance`` seconds of the receiver's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

TIMESTAMP_HEADER = "X-Hotline-Timestamp"
SIGNATURE_HEADER = "X-Hotline-Signature"
DELIVERY_HEADER = "X-Hotline-Delivery"
SCHEME = "sha256="
TOLERANCE = 300  # seconds a signed request stays acceptable (either side of the clock)
_MAX_HEADER = 200


class Refused(ValueError):
    """A webhook request whose headers, signature or timestamp do not check out."""


def body(delivery: str, destination: str, ticket: Mapping[str, Any]) -> bytes:
    """The request body: ``{"delivery": id, "destination": id, "ticket": {...}}`` as compact
    UTF-8 JSON (Chinese text as it is, not ``\\u`` escapes)."""
    doc = {"delivery": delivery, "destination": destination, "ticket": ticket}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, raw_body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def sign(secret: str, raw_body: bytes, delivery: str, timestamp: int) -> dict[str, str]:
    """The headers of one attempt of a delivery signed at ``timestamp`` (unix seconds)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, raw_body),
        DELIVERY_HEADER: delivery,
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up without regard to case
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if not value:
        raise Refused(f"the {name} header is missing")
    if len(value) > _MAX_HEADER:
        raise Refused(f"the {name} header is too long")
    return value.strip()


def verify(secret: str, raw_body: bytes, headers: Mapping[str, str], now: float,
           tolerance: int = TOLERANCE) -> str:
    """Check a received webhook; return its delivery id (the idempotency key).

    ``raw_body`` must be the bytes as received (not re-encoded JSON); ``headers`` any mapping
    (case-insensitive ones are used as they are); ``now`` the receiver's unix time.
    :class:`Refused` when a header is missing, the signature does not match or the timestamp
    is more than ``tolerance`` seconds away from ``now``.
    """
    timestamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    delivery = _header(headers, DELIVERY_HEADER)
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Refused(f"{TIMESTAMP_HEADER} is not a number of seconds")
    expected = signature(secret, int(timestamp), raw_body)
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise Refused("the signature does not match")
    if abs(now - int(timestamp)) > tolerance:
        raise Refused(f"{TIMESTAMP_HEADER} is more than {tolerance} s away from this clock")
    return delivery
