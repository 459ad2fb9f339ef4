"""The console's configuration: a frozen value the composition room fills from ``HOTLINE_*``
settings (``hotline/console_config.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class ConsoleConfig:
    # signs session cookies and derives CSRF tokens; never empty
    secret: str = field(repr=False)
    # the browser softphone's SIP-over-WebSocket URL (wss://…/ws); None: no softphone
    sip_ws: str | None = None
    # a session ends after ``idle`` without a request, and ``lifetime`` after login anyway
    idle: timedelta = timedelta(minutes=120)
    lifetime: timedelta = timedelta(hours=12)
    # the SIP domain the softphone registers to (any name Asterisk accepts; docs/softphone.md)
    sip_domain: str = "96010"
    # cookies are Secure even on a request that arrived over plain HTTP (the console's public
    # URL, HOTLINE_PUBLIC_URL, is https: a proxy in front terminates TLS)
    https_only: bool = False

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("the console needs a secret (HOTLINE_CONSOLE_SECRET)")
