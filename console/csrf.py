"""CSRF tokens of the console's forms and JSON requests (pure; no I/O).

A logged-in browser's token is derived from its session token:
``HMAC-SHA256(secret, "session|" + token)``; it is stable for the session, never stored, and
worthless without the session cookie (HttpOnly, SameSite=Strict). Forms send it in the field
``csrf``, scripts in the header ``X-CSRF-Token``.

The login form has no session yet: the page sets a random pre-session nonce in a cookie
(HttpOnly, SameSite=Strict, path /console/login) and the form carries
``HMAC-SHA256(secret, "login|" + nonce)`` (a signed double submit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

FIELD = "csrf"
HEADER = "X-CSRF-Token"
LOGIN_COOKIE = "hotline_console_login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _mac(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def for_session(secret: str, session_token: str) -> str:
    """The CSRF token of the session whose (unsigned) token is ``session_token``."""
    return _mac(secret, "session", session_token)


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def for_login(secret: str, nonce: str) -> str:
    """The login form's token for the pre-session cookie ``nonce``."""
    return _mac(secret, "login", nonce)


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing or empty token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
