"""What JsSIP (and RFC 3261) accepts as the host of a SIP URI: the softphone's domain is checked
at start-up so that a console never serves a page whose softphone cannot register.

RFC 3261 25.1: ``host = hostname / IPv4address / IPv6reference`` with
``hostname = *( domainlabel "." ) toplabel [ "." ]`` and a ``toplabel`` that starts with a
letter (JsSIP refuses the final dot, so does this check). So ``96010`` (all digits, not an IPv4
address) is no host: JsSIP's ``URI.parse`` answers ``undefined`` and ``new JsSIP.UA`` throws
``Invalid value "sip:op-alice@96010" for parameter "uri"``. Pure, no I/O.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_TOP = r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"(?:{_LABEL}\.)*{_TOP}")


def sip_host_problem(host: str) -> str | None:
    """Why ``host`` cannot be the host of a SIP URI (in English, for a start-up message), or
    None when it can."""
    if not host:
        return "is empty"
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host!r} is not an IPv6 reference"
        return None
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return (f"{host!r} is neither an IPv4 address nor a host name (a host name's last "
                    "label starts with a letter, so a SIP phone rejects an all-digit domain)")
        return None
    if len(host) > 253 or not HOSTNAME.fullmatch(host):
        return (f"{host!r} is not a host name (letters, digits and '-' in dot-separated labels, "
                "the last one starting with a letter)")
    return None
