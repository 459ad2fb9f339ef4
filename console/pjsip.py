"""``pjsip-operators.conf``: every active person's PJSIP endpoint (pure; no I/O).

The sections follow the templates of ``asterisk-conf/pjsip-templates.conf`` (``operator-webrtc``,
``operator-deskphone``, ``operator-aor``, ``operator-auth``); ``pjsip.conf`` #tryincludes the
file. Per person (see docs/softphone.md):

* ``webrtc`` — ``op-NAME`` from ``operator-webrtc`` (the console's browser softphone);
* ``deskphone`` — ``op-NAME`` from ``operator-deskphone`` (a SIP phone on the desk);
* ``both`` — ``op-NAME`` (browser) and ``op-NAME-desk`` (desk phone), each with its own AOR
  and auth, the same secret.

A disabled person has no endpoint, so their phone or browser can neither register nor be
rung. Names and secrets are checked against a strict alphabet before they are written: the
file is Asterisk configuration, and nothing else may reach it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.people import DESK_SUFFIX, Person

_NAME = re.compile(r"^op-[a-z][a-z0-9_-]{0,40}$")
_SECRET = re.compile(r"^[A-Za-z0-9]{16,128}$")

HEADER = (
    "; The operators' PJSIP endpoints, written by `hotline operator` from the people in the\n"
    "; gateway's database. Do not edit: the next `hotline operator` change rewrites this file.\n"
    "; Templates: pjsip-templates.conf; included by pjsip.conf (#tryinclude).\n"
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    secret: str
    template: str  # operator-webrtc | operator-deskphone


def endpoints_of(person: Person) -> list[Endpoint]:
    """The endpoints of one person (none when disabled, nor for a desk or a grid worker: they
    answer no calls)."""
    if not person.active or not person.is_center:
        return []
    base = person.sip_user
    if person.phone_kind == "webrtc":
        return [Endpoint(base, person.sip_secret, "operator-webrtc")]
    if person.phone_kind == "deskphone":
        return [Endpoint(base, person.sip_secret, "operator-deskphone")]
    return [Endpoint(base, person.sip_secret, "operator-webrtc"),
            Endpoint(base + DESK_SUFFIX, person.sip_secret, "operator-deskphone")]


def section(endpoint: Endpoint) -> str:
    """One endpoint with its AOR and auth, as ``pjsip-templates.conf`` describes them."""
    if not _NAME.match(endpoint.name):
        raise ValueError(f"unsafe PJSIP endpoint name {endpoint.name!r}")
    if not _SECRET.match(endpoint.secret):
        raise ValueError(f"unsafe SIP secret for {endpoint.name}")
    if endpoint.template not in ("operator-webrtc", "operator-deskphone"):
        raise ValueError(f"unknown endpoint template {endpoint.template!r}")
    name = endpoint.name
    return (
        f"[{name}]({endpoint.template})\n"
        f"auth = {name}\n"
        f"aors = {name}\n"
        "\n"
        f"[{name}](operator-aor)\n"
        "\n"
        f"[{name}](operator-auth)\n"
        f"username = {name}\n"
        f"password = {endpoint.secret}\n"
    )


def render(people: Iterable[Person]) -> str:
    """The whole file: a header, then the endpoints of the active people by name."""
    endpoints = sorted((e for p in people for e in endpoints_of(p)), key=lambda e: e.name)
    names = [e.name for e in endpoints]
    if len(set(names)) != len(names):
        raise ValueError("two endpoints would have the same name")
    return HEADER + "".join("\n" + section(e) for e in endpoints)
