"""Signed double-submit CSRF tokens that also carry the form's one-time submission id.

The browser holds a random ``nonce`` in a cookie (HttpOnly, SameSite=Strict, path /report).
The form holds ``<submission_id>.<issued_at>.<signature>``, where the signature is
HMAC-SHA256(secret, nonce | submission_id | issued_at). A POST is accepted only when the form
token was signed for the nonce in the same request's cookie, with the server's secret, and is
not older than ``max_age``. The submission id becomes the ticket's ``channel_ref``, so a page
sent twice (double click, reload, back button) yields the same ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum

COOKIE_NAME = "hotline_csrf"
_ID = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_TS = re.compile(r"^\d{1,12}$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{43}$")


class TokenProblem(Enum):
    missing = "missing"
    malformed = "malformed"
    bad_signature = "bad_signature"
    expired = "expired"


@dataclass(frozen=True)
class TokenCheck:
    submission_id: str | None
    problem: TokenProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def new_submission_id() -> str:
    return secrets.token_urlsafe(16)


def valid_nonce(nonce: str | None) -> bool:
    return nonce is not None and _ID.match(nonce) is not None


def _signature(secret: str, nonce: str, submission_id: str, issued_at: int) -> str:
    mac = hmac.new(secret.encode(), f"{nonce}|{submission_id}|{issued_at}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret: str, nonce: str, submission_id: str, now: int) -> str:
    """The form token for ``submission_id``, bound to the cookie ``nonce``."""
    if not secret:
        raise ValueError("a CSRF secret is required")
    return f"{submission_id}.{now}.{_signature(secret, nonce, submission_id, now)}"


def check(secret: str, nonce: str | None, token: str | None, now: int, max_age: int) -> TokenCheck:
    """Verify a form token against the cookie nonce; the submission id when it is good."""
    if not token or not nonce:
        return TokenCheck(None, TokenProblem.missing)
    parts = token.split(".")
    if len(parts) != 3 or not valid_nonce(nonce):
        return TokenCheck(None, TokenProblem.malformed)
    submission_id, issued, signature = parts
    if not (_ID.match(submission_id) and _TS.match(issued) and _SIG.match(signature)):
        return TokenCheck(None, TokenProblem.malformed)
    expected = _signature(secret, nonce, submission_id, int(issued))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return TokenCheck(None, TokenProblem.bad_signature)
    if now - int(issued) > max_age or int(issued) - now > 60:
        return TokenCheck(submission_id, TokenProblem.expired)
    return TokenCheck(submission_id, None)
