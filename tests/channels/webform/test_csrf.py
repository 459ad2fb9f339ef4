"""Known-answer and tamper tests of the signed double-submit CSRF token."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from channels.webform import csrf
from channels.webform.csrf import TokenProblem

SECRET = "7f3c0d5e9a1b2c4d6e8f0a1b2c3d4e5f"
NONCE = "n" * 32
SID = "s" * 22
NOW = 1_790_000_000


def test_known_answer() -> None:
    mac = hmac.new(SECRET.encode(), f"{NONCE}|{SID}|{NOW}".encode(), hashlib.sha256).digest()
    expected_sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert csrf.issue(SECRET, NONCE, SID, NOW) == f"{SID}.{NOW}.{expected_sig}"


def test_a_fresh_token_gives_back_its_submission_id() -> None:
    token = csrf.issue(SECRET, NONCE, SID, NOW)
    result = csrf.check(SECRET, NONCE, token, NOW + 10, max_age=3600)
    assert result.ok and result.submission_id == SID


def test_generated_ids_are_accepted() -> None:
    nonce, sid = csrf.new_nonce(), csrf.new_submission_id()
    assert csrf.valid_nonce(nonce) and sid != csrf.new_submission_id()
    assert csrf.check(SECRET, nonce, csrf.issue(SECRET, nonce, sid, NOW), NOW, 60).ok


@pytest.mark.parametrize(
    ("nonce", "token_of", "problem"),
    [
        (None, lambda t: t, TokenProblem.missing),
        (NONCE, lambda t: None, TokenProblem.missing),
        (NONCE, lambda t: "", TokenProblem.missing),
        (NONCE, lambda t: t + ".x", TokenProblem.malformed),
        (NONCE, lambda t: "a.b.c", TokenProblem.malformed),
        ("short", lambda t: t, TokenProblem.malformed),
        ("m" * 32, lambda t: t, TokenProblem.bad_signature),  # another browser's cookie
        (NONCE, lambda t: "t" + t[1:], TokenProblem.bad_signature),  # another submission id
        (NONCE, lambda t: t.replace(f".{NOW}.", f".{NOW + 1}."), TokenProblem.bad_signature),
        (NONCE, lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), TokenProblem.bad_signature),
    ],
)
def test_tampering_is_refused(nonce: str | None, token_of: object,
                              problem: TokenProblem) -> None:
    token = token_of(csrf.issue(SECRET, NONCE, SID, NOW))  # type: ignore[operator]
    result = csrf.check(SECRET, nonce, token, NOW, max_age=3600)
    assert result.problem is problem
    assert not result.ok


def test_another_secret_is_refused() -> None:
    token = csrf.issue("another-secret-of-sufficient-length", NONCE, SID, NOW)
    assert csrf.check(SECRET, NONCE, token, NOW, 3600).problem is TokenProblem.bad_signature


def test_expiry_and_future_tokens() -> None:
    token = csrf.issue(SECRET, NONCE, SID, NOW)
    assert csrf.check(SECRET, NONCE, token, NOW + 3600, 3600).ok
    late = csrf.check(SECRET, NONCE, token, NOW + 3601, 3600)
    assert late.problem is TokenProblem.expired and late.submission_id == SID
    assert csrf.check(SECRET, NONCE, token, NOW - 3600, 3600).problem is TokenProblem.expired


def test_an_empty_secret_cannot_issue() -> None:
    with pytest.raises(ValueError):
        csrf.issue("", NONCE, SID, NOW)
