"""SIP secrets as digests on a real Asterisk 22: ``hotline operator add --phone both`` writes
only HA1s (``password_digest = MD5:…``) into the test Asterisk's ``pjsip-operators.conf`` and
reloads it over AMI; a desk phone (SIPp) registers with the password the command showed once;
a wrong password, or the desk phone's password on the browser's endpoint, is refused; after
``hotline operator sip-reset`` the old password no longer registers and the new one does.
(The browser softphone registering with its HA1 from the console's own page:
test_console_phone.py.)"""

from __future__ import annotations

import re
from hashlib import md5
from pathlib import Path

import pytest

from tests.integration.conftest import AsteriskFactory
from tests.integration.console.console_stack import Gateway
from tests.support.asterisk import Asterisk
from tests.support.sipp import sipp_register

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]

PASSWORD = "correct horse battery staple"
SHOWN = re.compile(r"desk phone: register as (op-[a-z-]+) with password ([0-9a-f]{24}) ")


def shown_password(out: str) -> tuple[str, str]:
    found = SHOWN.findall(out)
    assert len(found) == 1, out
    user, password = found[0]
    return str(user), str(password)


def refused(ast: Asterisk, user: str, password: str, workdir: Path) -> bool:
    """The REGISTER was challenged, and the answer to the challenge challenged again."""
    result = sipp_register(ast.sip_port, user=user, password=password, workdir=workdir)
    return not result.ok and result.statuses[:2] == [401, 401] and 200 not in result.statuses


def contacts(ast: Asterisk) -> dict[str, str]:
    return {str(e["Endpoint"]): str(e.get("UserAgent", "")) for e in ast.ami(
        {"Action": "PJSIPShowContacts"}) if e.get("Event") == "ContactList"}


def test_a_desk_phone_registers_with_the_password_shown_once(
        asterisk_factory: AsteriskFactory, tmp_path: Path) -> None:
    ast = asterisk_factory()
    operators = ast.conf_dir / "pjsip-operators.conf"
    gateway = Gateway(tmp_path / "gateway", {
        "HOTLINE_AMI_HOST": "127.0.0.1", "HOTLINE_AMI_PORT": str(ast.ami_port),
        "HOTLINE_AMI_USERNAME": ast.ami_user, "HOTLINE_AMI_SECRET": ast.ami_secret,
        "HOTLINE_PJSIP_OPERATORS": str(operators)})
    gateway.cli("migrate")
    out = gateway.cli("operator", "add", "bob", "--name", "李四", "--phone", "both",
                      "--password-stdin", stdin=PASSWORD + "\n")
    assert "Asterisk reloaded res_pjsip" in out, out
    user, password = shown_password(out)
    assert user == "op-bob-desk"

    # Asterisk holds the digest of the shown password, in the realm it challenges with
    conf = operators.read_text()
    assert password not in conf and "password =" not in conf
    ha1 = md5(f"op-bob-desk:hotline-96010:{password}".encode()).hexdigest()
    assert f"password_digest = MD5:{ha1}" in conf
    auth = ast.cli("pjsip show auth op-bob-desk")
    assert "hotline-96010" in auth and password not in auth, auth

    work = tmp_path / "sipp"
    registered = sipp_register(ast.sip_port, user=user, password=password, workdir=work / "ok")
    assert registered.ok, registered.output
    assert registered.statuses == [401, 200]
    assert contacts(ast).get("op-bob-desk") == "sipp-desk-phone"

    assert refused(ast, user, password[::-1], work / "wrong")
    # the browser's endpoint has its own (random, never shown) secret
    assert refused(ast, "op-bob", password, work / "browser")

    out = gateway.cli("operator", "sip-reset", "bob")
    assert "Asterisk reloaded res_pjsip" in out, out
    user, fresh = shown_password(out)
    assert user == "op-bob-desk" and fresh != password
    assert refused(ast, user, password, work / "old")
    new = sipp_register(ast.sip_port, user=user, password=fresh, workdir=work / "new")
    assert new.ok and new.statuses == [401, 200], new.output
