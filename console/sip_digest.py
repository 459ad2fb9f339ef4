"""SIP digest credentials: the operators' endpoints are stored as HA1, never as a password.

HA1 is ``md5(username:realm:password)`` (RFC 2617 / RFC 8760 with MD5): what Asterisk's PJSIP
auth takes as ``password_digest = MD5:<ha1>`` and what JsSIP takes as ``ha1`` with ``realm``.
The realm is a constant (:data:`REALM`), not a setting: every stored HA1 is bound to it, so a
changed realm would lock out every softphone and desk phone (migration 0012 computes the first
HA1s with the same value).

An HA1 is not the password, but it is as good as one for this realm (a SIP client can register
with it); keep the database and ``pjsip-operators.conf`` as private as before.
"""

from __future__ import annotations

import hashlib
import re
import secrets

# the realm Asterisk challenges with (written into every operator auth section: console/pjsip.py)
REALM = "hotline-96010"
HA1 = re.compile(r"[0-9a-f]{32}")  # fullmatch


def ha1(username: str, password: str, realm: str = REALM) -> str:
    """``md5(username:realm:password)`` in lower-case hex (UTF-8)."""
    text = f"{username}:{realm}:{password}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def browser_secret() -> str:
    """The password of a browser softphone's endpoint: random, never shown nor stored (the
    page gets its HA1)."""
    return secrets.token_hex(24)


def desk_password() -> str:
    """A desk phone's SIP password: random, 96 bits in 24 hex digits (typed into the phone
    once; shown once by ``hotline operator``, only its HA1 kept)."""
    return secrets.token_hex(12)
