"""CSRF tokens: known answers, binding to their session or nonce, constant-time matching."""

from __future__ import annotations

import base64
import hashlib
import hmac

from console import csrf


def test_session_token_known_answer() -> None:
    mac = hmac.new(b"k", b"session|abc", hashlib.sha256).digest()
    assert csrf.for_session("k", "abc") == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert csrf.for_session("k", "abc") == "Z4FJIejS0Og3v4tlCtvTIVz74VgW2dgYdvm2WgMVK9E"


def test_tokens_are_bound_to_their_purpose_secret_and_value() -> None:
    assert csrf.for_session("k", "abc") != csrf.for_login("k", "abc")
    assert csrf.for_session("k", "abc") != csrf.for_session("k", "abd")
    assert csrf.for_session("k", "abc") != csrf.for_session("l", "abc")
    assert len(csrf.for_login("k", csrf.new_login_nonce())) == 43


def test_matches() -> None:
    token = csrf.for_session("k", "abc")
    assert csrf.matches(token, token)
    assert not csrf.matches(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not csrf.matches(token, None)
    assert not csrf.matches(token, "")
    assert not csrf.matches("", "")
    assert not csrf.matches(token, "令牌")
