"""The console's configuration: a frozen value the composition room fills from ``HOTLINE_*``
settings (``hotline/console_config.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from console.sipuri import sip_host_problem

# The SIP domain of the operators' URIs (sip:op-NAME@DOMAIN). Asterisk finds the endpoint by
# its user name, so any valid host does; this one is reserved (RFC 2606), never resolved.
DEFAULT_SIP_DOMAIN = "hotline-96010.invalid"


@dataclass(frozen=True)
class ConsoleConfig:
    # signs session cookies and derives CSRF tokens; never empty
    secret: str = field(repr=False)
    # the browser softphone's SIP-over-WebSocket URL (wss://…/ws); None: no softphone
    sip_ws: str | None = None
    # a session ends after ``idle`` without a request, and ``lifetime`` after login anyway
    idle: timedelta = timedelta(minutes=120)
    lifetime: timedelta = timedelta(hours=12)
    # the SIP domain the softphone registers to (HOTLINE_CONSOLE_SIP_DOMAIN; a host name or an
    # IP address: JsSIP refuses an all-digit domain such as "96010"; docs/softphone.md)
    sip_domain: str = DEFAULT_SIP_DOMAIN
    # cookies are Secure even on a request that arrived over plain HTTP (the console's public
    # URL, HOTLINE_PUBLIC_URL, is https: a proxy in front terminates TLS)
    https_only: bool = False
    # the name of the Vosk model the live transcripts come from (HOTLINE_VOSK_MODEL or the one
    # found); None: unknown. Not a Chinese one: the board marks every live transcript.
    speech_model: str | None = None

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("the console needs a secret (HOTLINE_CONSOLE_SECRET)")
        problem = sip_host_problem(self.sip_domain)
        if problem is not None:
            raise ValueError(f"HOTLINE_CONSOLE_SIP_DOMAIN {problem}")
