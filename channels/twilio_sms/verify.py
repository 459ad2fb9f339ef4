"""Twilio webhook signatures (``X-Twilio-Signature``), checked by twilio's RequestValidator.

Twilio signs the URL it was configured with, not the URL the gateway sees behind a proxy
(scheme, host and port differ there), so the URL checked is always the configured public URL
plus the route's path and the request's query string.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

PATH = "/channels/twilio/sms"


def signed_url(public_url: str, path: str = PATH, query: str = "") -> str:
    """The URL Twilio signed: ``HOTLINE_PUBLIC_URL`` + path (+ ``?query``)."""
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def is_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True when ``signature`` is Twilio's for ``url`` and the form ``params``."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send (for the demo command and tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
