"""Webhook signatures: known-answer vectors (computed with ``openssl dgst -sha256 -hmac``), the
receiver's check in constant time with a timestamp window, and the body's exact bytes."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery import webhooks
from delivery.webhooks import Refused

SECRET = "whsec-96010-test-0123456789"
DELIVERY = "3f0c9a1e5b7d4c2a8e6f1b0d9c7a5e3f"
TS = 1767225600  # 2026-01-01T00:00:00Z
TICKET = {"id": "t1", "text": "楼道灯不亮"}
# printf '%s' '1767225600.<body>' | openssl dgst -sha256 -hmac 'whsec-96010-test-0123456789'
BODY = ('{"delivery":"3f0c9a1e5b7d4c2a8e6f1b0d9c7a5e3f","destination":"street:DS",'
        '"ticket":{"id":"t1","text":"楼道灯不亮"}}').encode()
BODY_SIGNATURE = "sha256=2ea0bb197edfbedaa6401c32fd11e23a682ddfd59aae5c693e8da11c9f9e7ae0"


def test_body_is_compact_utf8_json_in_a_fixed_order() -> None:
    assert webhooks.body(DELIVERY, "street:DS", TICKET) == BODY
    assert json.loads(BODY) == {"delivery": DELIVERY, "destination": "street:DS",
                                "ticket": TICKET}


@pytest.mark.parametrize(("secret", "timestamp", "raw", "expected"), [
    (SECRET, TS, BODY, BODY_SIGNATURE),
    # printf '%s' '1700000000.' | openssl dgst -sha256 -hmac 'k3y-of-sixteen-chars'
    ("k3y-of-sixteen-chars", 1700000000, b"",
     "sha256=5a3ee6e34acf25c4963aabdcff242e6e8ff677ec4f0cfb95cdb617544aa66e16"),
])
def test_signature_known_answers(secret: str, timestamp: int, raw: bytes,
                                 expected: str) -> None:
    assert webhooks.signature(secret, timestamp, raw) == expected


def test_sign_gives_the_three_headers() -> None:
    headers = webhooks.sign(SECRET, BODY, DELIVERY, TS)
    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "X-Hotline-Timestamp": "1767225600",
        "X-Hotline-Signature": BODY_SIGNATURE,
        "X-Hotline-Delivery": DELIVERY,
    }


def test_verify_returns_the_delivery_id_within_the_window() -> None:
    headers = webhooks.sign(SECRET, BODY, DELIVERY, TS)
    assert webhooks.verify(SECRET, BODY, headers, now=TS) == DELIVERY
    assert webhooks.verify(SECRET, BODY, headers, now=TS + 300) == DELIVERY
    assert webhooks.verify(SECRET, BODY, headers, now=TS - 300) == DELIVERY


def test_verify_takes_any_header_mapping_case_insensitively() -> None:
    signed = webhooks.sign(SECRET, BODY, DELIVERY, TS)
    lowered = {k.lower(): v for k, v in signed.items()}
    assert webhooks.verify(SECRET, BODY, lowered, now=TS) == DELIVERY
    assert webhooks.verify(SECRET, BODY, httpx.Headers(signed), now=TS) == DELIVERY
    upper = {**signed, "X-Hotline-Signature": BODY_SIGNATURE.upper().replace("SHA256", "sha256")}
    assert webhooks.verify(SECRET, BODY, upper, now=TS) == DELIVERY


@pytest.mark.parametrize(("change", "message"), [
    ({"X-Hotline-Signature": "sha256=" + "0" * 64}, "does not match"),
    ({"X-Hotline-Signature": BODY_SIGNATURE[7:]}, "does not match"),  # no scheme
    ({"X-Hotline-Timestamp": str(TS + 1)}, "does not match"),  # the timestamp is signed
    ({"X-Hotline-Timestamp": "１７６７２２５６００"}, "not a number"),  # full-width digits
    ({"X-Hotline-Timestamp": "-1767225600"}, "not a number"),
    ({"X-Hotline-Timestamp": ""}, "missing"),
    ({"X-Hotline-Delivery": ""}, "missing"),
    ({"X-Hotline-Signature": "x" * 1000}, "too long"),
])
def test_verify_refuses(change: dict[str, str], message: str) -> None:
    headers = {**webhooks.sign(SECRET, BODY, DELIVERY, TS), **change}
    with pytest.raises(Refused, match=message):
        webhooks.verify(SECRET, BODY, headers, now=TS)


def test_verify_refuses_another_secret_another_body_and_an_old_request() -> None:
    headers = webhooks.sign(SECRET, BODY, DELIVERY, TS)
    with pytest.raises(Refused, match="does not match"):
        webhooks.verify(SECRET + "x", BODY, headers, now=TS)
    with pytest.raises(Refused, match="does not match"):
        webhooks.verify(SECRET, BODY + b" ", headers, now=TS)
    with pytest.raises(Refused, match="away from this clock"):
        webhooks.verify(SECRET, BODY, headers, now=TS + 301)
    with pytest.raises(Refused, match="away from this clock"):
        webhooks.verify(SECRET, BODY, headers, now=TS - 301, tolerance=300)


def test_missing_headers_are_named() -> None:
    for name in ("X-Hotline-Timestamp", "X-Hotline-Signature", "X-Hotline-Delivery"):
        headers = webhooks.sign(SECRET, BODY, DELIVERY, TS)
        del headers[name]
        with pytest.raises(Refused, match=name):
            webhooks.verify(SECRET, BODY, headers, now=TS)


@given(st.binary(max_size=512), st.integers(min_value=0, max_value=10**11),
       st.text(min_size=16, max_size=64))
def test_what_is_signed_verifies(raw: bytes, timestamp: int, secret: str) -> None:
    headers = webhooks.sign(secret, raw, DELIVERY, timestamp)
    assert webhooks.verify(secret, raw, headers, now=timestamp) == DELIVERY


@given(st.dictionaries(st.sampled_from(["X-Hotline-Timestamp", "X-Hotline-Signature",
                                        "X-Hotline-Delivery", "Other"]),
                       st.text(max_size=300)))
def test_verify_only_ever_refuses_garbage(headers: dict[str, str]) -> None:
    with pytest.raises(Refused):
        webhooks.verify(SECRET, BODY, headers, now=TS)
