"""pjsip-operators.conf: known answers (HA1 vectors included), the templates they name exist,
nothing unsafe written, never a password."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console import pjsip, sip_digest
from console.people import Person, Role

REPO = Path(__file__).resolve().parents[2]
SECRET_A = "a" * 48
SECRET_B = "0123456789abcdef" * 3
# md5("<user>:hotline-96010:<secret>"), computed apart from the code under test:
#   printf '%s' 'op-alice:hotline-96010:aaa…a' | md5sum
HA1_ALICE = "26fe527f1df1ff3f56edd17901c48cce"
HA1_BOB = "87ccd6c0a6dabe241669a49687af5c64"
HA1_BOB_DESK = "646111712018ffb5d71faa3a3675d1ec"
HA1_DORA = "236d05c0beb4d28e0217278ad86d6f60"


def person(login: str, kind: str = "webrtc", *, active: bool = True,
           secret: str = SECRET_A, pid: int = 1) -> Person:
    user = f"op-{login}"
    return Person(id=pid, login=login, display_name="张三", role=Role.operator, active=active,
                  sip_user=user, sip_ha1=sip_digest.ha1(user, secret),
                  phone_kind=kind,  # type: ignore[arg-type]
                  sip_desk_ha1=sip_digest.ha1(user + "-desk", secret) if kind == "both" else None)


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
realm = hotline-96010
password_digest = MD5:{HA1_ALICE}

[op-bob](operator-webrtc)
auth = op-bob
aors = op-bob

[op-bob](operator-aor)

[op-bob](operator-auth)
username = op-bob
realm = hotline-96010
password_digest = MD5:{HA1_BOB}

[op-bob-desk](operator-deskphone)
auth = op-bob-desk
aors = op-bob-desk

[op-bob-desk](operator-aor)

[op-bob-desk](operator-auth)
username = op-bob-desk
realm = hotline-96010
password_digest = MD5:{HA1_BOB_DESK}

[op-dora](operator-deskphone)
auth = op-dora
aors = op-dora

[op-dora](operator-aor)

[op-dora](operator-auth)
username = op-dora
realm = hotline-96010
password_digest = MD5:{HA1_DORA}
"""


def test_known_answer() -> None:
    everyone = [person("dora", "deskphone", pid=4), person("carol", active=False, pid=3),
                person("bob", "both", secret=SECRET_B, pid=2), person("alice", pid=1)]
    text = pjsip.render(everyone)
    assert text == EXPECTED
    assert SECRET_A not in text and SECRET_B not in text and "password =" not in text


def test_ha1_is_the_rfc_2617_digest() -> None:
    """The vector of Asterisk 22's pjsip.conf.sample (``echo -n "fred:asterisk:mypass" |
    openssl dgst -md5``), and the realm the operators' auths are written with."""
    assert sip_digest.ha1("fred", "mypass", "asterisk") == "43a8d9be3da524f9a59ca0593d7b1b5d"
    assert sip_digest.ha1("op-alice", SECRET_A) == HA1_ALICE
    assert sip_digest.REALM == "hotline-96010"
    assert sip_digest.HA1.fullmatch(sip_digest.ha1("op-x", sip_digest.desk_password()))


def test_a_desk_phone_beside_the_browser_without_its_digest_is_refused() -> None:
    bob = person("bob", "both")
    broken = Person(id=2, login="bob", display_name="李四", role=Role.operator, active=True,
                    sip_user="op-bob", sip_ha1=bob.sip_ha1, phone_kind="both")
    with pytest.raises(ValueError, match="sip-reset bob"):
        pjsip.render([broken])


def test_nobody_is_a_header_only() -> None:
    assert pjsip.render([]) == pjsip.HEADER
    assert pjsip.render([person("carol", active=False)]) == pjsip.HEADER


def test_the_format_is_the_test_harness_operator() -> None:
    """asterisk-conf/test/pjsip-operators.conf is the same shape (the softphone test's)."""
    harness = (REPO / "asterisk-conf/test/pjsip-operators.conf").read_text()
    body = "\n".join(line for line in harness.splitlines() if not line.startswith(";"))
    ours = pjsip.section(pjsip.Endpoint("op-test", "f" * 32, "operator-webrtc"))
    assert body.strip() == ours.replace("f" * 32, "@OPERATOR_HA1@").strip()


def test_the_templates_exist() -> None:
    templates = (REPO / "asterisk-conf/pjsip-templates.conf").read_text()
    for name in ("operator-webrtc", "operator-deskphone", "operator-aor", "operator-auth"):
        assert re.search(rf"^\[{name}\]\(!\)$", templates, re.M), name
    auth = templates.split("[operator-auth](!)")[1]
    assert "auth_type = digest" in auth and "supported_algorithms_uas = MD5" in auth
    included = (REPO / "asterisk-conf/pjsip.conf").read_text()
    assert '#tryinclude "pjsip-operators.conf"' in included


@pytest.mark.parametrize("conf", ["asterisk-conf/pjsip.conf", "asterisk-conf/test/pjsip.conf"])
def test_asterisk_challenges_in_the_realm_of_the_digests(conf: str) -> None:
    """default_realm: an auth section written before migration 0012 (a plain password, no
    realm) is challenged in the realm the migrated HA1s were computed in, so a browser
    holding its HA1 registers before ``hotline operator sync`` rewrites the file."""
    text = (REPO / conf).read_text()
    settings = text.split("[global]\n")[1].split("\n\n")[0]
    assert f"default_realm = {sip_digest.REALM}" in settings.splitlines()


@pytest.mark.parametrize("endpoint", [
    pjsip.Endpoint("op-a]\n[evil", HA1_ALICE, "operator-webrtc"),
    pjsip.Endpoint("alice", HA1_ALICE, "operator-webrtc"),
    pjsip.Endpoint("op-alice\n", HA1_ALICE, "operator-webrtc"),
    pjsip.Endpoint("op-alice", "short", "operator-webrtc"),
    pjsip.Endpoint("op-alice", SECRET_A, "operator-webrtc"),  # a password is not a digest
    pjsip.Endpoint("op-alice", HA1_ALICE.upper(), "operator-webrtc"),
    pjsip.Endpoint("op-alice", HA1_ALICE + "\n", "operator-webrtc"),
    pjsip.Endpoint("op-alice", HA1_ALICE + "\ncontext = x", "operator-webrtc"),
    pjsip.Endpoint("op-alice", HA1_ALICE, "carrier-endpoint"),
])
def test_unsafe_values_are_never_written(endpoint: pjsip.Endpoint) -> None:
    with pytest.raises(ValueError):
        pjsip.section(endpoint)


def test_clashing_names_are_refused() -> None:
    with pytest.raises(ValueError, match="same name"):
        pjsip.render([person("bob", "both"), person("bob-desk", pid=2)])
