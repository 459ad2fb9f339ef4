"""The resident's own status link: ``/status/<ticket id>/<mac>``, shown after submitting the
form. The mac is HMAC-SHA256(``HOTLINE_WEB_SECRET``, ticket id), so the link cannot be guessed
from a ticket number or id and is checked in constant time; it needs no table. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "/status/"
_ID = re.compile(r"^[0-9a-f]{32}$")
_MAC = re.compile(r"^[A-Za-z0-9_-]{22}$")


def mac(secret: str, ticket_id: str) -> str:
    digest = hmac.new(secret.encode(), f"status-link|{ticket_id}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def path(secret: str, ticket_id: str) -> str:
    return f"{PREFIX}{ticket_id}/{mac(secret, ticket_id)}"


def valid(secret: str, ticket_id: str, given: str) -> bool:
    if not secret or not _ID.fullmatch(ticket_id) or not _MAC.fullmatch(given):
        return False
    return hmac.compare_digest(mac(secret, ticket_id).encode(), given.encode())
