"""``pjsip-operators.conf``: every active person's PJSIP endpoint (pure; no I/O).

The sections follow the templates of ``asterisk-conf/pjsip-templates.conf`` (``operator-webrtc``,
``operator-deskphone``, ``operator-aor``, ``operator-auth``); ``pjsip.conf`` #tryincludes the
file. Per person (see docs/softphone.md):

* ``webrtc`` — ``op-NAME`` from ``operator-webrtc`` (the console's browser softphone);
* ``deskphone`` — ``op-NAME`` from ``operator-deskphone`` (a SIP phone on the desk);
* ``both`` — ``op-NAME`` (browser) and ``op-NAME-desk`` (desk phone), each with its own AOR
  and auth and its own secret.

Every auth holds the digest HA1 of its secret (``password_digest = MD5:<ha1>``, with the
realm it was computed for, console/sip_digest.py), never a password. A disabled person has no
endpoint, so their phone or browser can neither register nor be rung. Names and digests are
checked against a strict alphabet before they are written: the file is Asterisk configuration,
and nothing else may reach it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.people import DESK_SUFFIX, Person
from console.sip_digest import HA1, REALM

_NAME = re.compile(r"^op-[a-z][a-z0-9_-]{0,40}$")

HEADER = (
    "; The operators' PJSIP endpoints, written by `hotline operator` from the people in the\n"
    "; gateway's database. Do not edit: the next `hotline operator` change rewrites this file.\n"
    "; Templates: pjsip-templates.conf; included by pjsip.conf (#tryinclude).\n"
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    ha1: str  # md5(name:REALM:password), console/sip_digest.py
    template: str  # operator-webrtc | operator-deskphone


def endpoints_of(person: Person) -> list[Endpoint]:
    """The endpoints of one person (none when disabled, nor for a desk or a grid worker: they
    answer no calls)."""
    if not person.active or not person.is_center:
        return []
    base = person.sip_user
    if person.phone_kind == "webrtc":
        return [Endpoint(base, person.sip_ha1, "operator-webrtc")]
    if person.phone_kind == "deskphone":
        return [Endpoint(base, person.sip_ha1, "operator-deskphone")]
    if person.sip_desk_ha1 is None:
        raise ValueError(f"{person.login} has a desk phone but no SIP digest for it: "
                         f"hotline operator sip-reset {person.login}")
    return [Endpoint(base, person.sip_ha1, "operator-webrtc"),
            Endpoint(base + DESK_SUFFIX, person.sip_desk_ha1, "operator-deskphone")]


def section(endpoint: Endpoint) -> str:
    """One endpoint with its AOR and auth, as ``pjsip-templates.conf`` describes them."""
    if not _NAME.fullmatch(endpoint.name):
        raise ValueError(f"unsafe PJSIP endpoint name {endpoint.name!r}")
    if not HA1.fullmatch(endpoint.ha1):
        raise ValueError(f"not an MD5 digest (HA1) for {endpoint.name}")
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
        f"realm = {REALM}\n"
        f"password_digest = MD5:{endpoint.ha1}\n"
    )


def render(people: Iterable[Person]) -> str:
    """The whole file: a header, then the endpoints of the active people by name."""
    endpoints = sorted((e for p in people for e in endpoints_of(p)), key=lambda e: e.name)
    names = [e.name for e in endpoints]
    if len(set(names)) != len(names):
        raise ValueError("two endpoints would have the same name")
    return HEADER + "".join("\n" + section(e) for e in endpoints)
