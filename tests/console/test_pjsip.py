"""pjsip-operators.conf: known answers, the templates they name exist, nothing unsafe written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console import pjsip
from console.people import Person, Role

REPO = Path(__file__).resolve().parents[2]
SECRET_A = "a" * 48
SECRET_B = "0123456789abcdef" * 3


def person(login: str, kind: str = "webrtc", *, active: bool = True,
           secret: str = SECRET_A, pid: int = 1) -> Person:
    return Person(id=pid, login=login, display_name="张三", role=Role.operator, active=active,
                  sip_user=f"op-{login}", sip_secret=secret,
                  phone_kind=kind)  # type: ignore[arg-type]


EXPECTED = f"""\
; The operators' PJSIP endpoints, written by `hotline operator` from the people in the
; gateway's database. Do not edit: the next `hotline operator` change rewrites this file.
; Templates: pjsip-templates.conf; included by pjsip.conf (#tryinclude).

[op-alice](operator-webrtc)
auth = op-alice
aors = op-alice

[op-alice](operator-aor)

[op-alice](operator-auth)
username = op-alice
password = {SECRET_A}

[op-bob](operator-webrtc)
auth = op-bob
aors = op-bob

[op-bob](operator-aor)

[op-bob](operator-auth)
username = op-bob
password = {SECRET_B}

[op-bob-desk](operator-deskphone)
auth = op-bob-desk
aors = op-bob-desk

[op-bob-desk](operator-aor)

[op-bob-desk](operator-auth)
username = op-bob-desk
password = {SECRET_B}

[op-dora](operator-deskphone)
auth = op-dora
aors = op-dora

[op-dora](operator-aor)

[op-dora](operator-auth)
username = op-dora
password = {SECRET_A}
"""


def test_known_answer() -> None:
    everyone = [person("dora", "deskphone", pid=4), person("carol", active=False, pid=3),
                person("bob", "both", secret=SECRET_B, pid=2), person("alice", pid=1)]
    assert pjsip.render(everyone) == EXPECTED


def test_nobody_is_a_header_only() -> None:
    assert pjsip.render([]) == pjsip.HEADER
    assert pjsip.render([person("carol", active=False)]) == pjsip.HEADER


def test_the_format_is_the_test_harness_operator() -> None:
    """asterisk-conf/test/pjsip-operators.conf is the same shape (the softphone test's)."""
    harness = (REPO / "asterisk-conf/test/pjsip-operators.conf").read_text()
    body = "\n".join(line for line in harness.splitlines() if not line.startswith(";"))
    ours = pjsip.section(pjsip.Endpoint("op-test", "X" * 24, "operator-webrtc"))
    assert body.strip() == ours.replace("X" * 24, "@OPERATOR_PASSWORD@").strip()


def test_the_templates_exist() -> None:
    templates = (REPO / "asterisk-conf/pjsip-templates.conf").read_text()
    for name in ("operator-webrtc", "operator-deskphone", "operator-aor", "operator-auth"):
        assert re.search(rf"^\[{name}\]\(!\)$", templates, re.M), name
    included = (REPO / "asterisk-conf/pjsip.conf").read_text()
    assert '#tryinclude "pjsip-operators.conf"' in included


@pytest.mark.parametrize("endpoint", [
    pjsip.Endpoint("op-a]\n[evil", SECRET_A, "operator-webrtc"),
    pjsip.Endpoint("alice", SECRET_A, "operator-webrtc"),
    pjsip.Endpoint("op-alice", "short", "operator-webrtc"),
    pjsip.Endpoint("op-alice", SECRET_A + "\ncontext = x", "operator-webrtc"),
    pjsip.Endpoint("op-alice", SECRET_A, "carrier-endpoint"),
])
def test_unsafe_values_are_never_written(endpoint: pjsip.Endpoint) -> None:
    with pytest.raises(ValueError):
        pjsip.section(endpoint)


def test_clashing_names_are_refused() -> None:
    with pytest.raises(ValueError, match="same name"):
        pjsip.render([person("bob", "both"), person("bob-desk", pid=2)])
