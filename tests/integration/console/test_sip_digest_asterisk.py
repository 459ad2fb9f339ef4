"""SIP secrets as digests on a real Asterisk 22: ``hotline operator add --phone both`` writes
only HA1s (``password_digest = MD5:…``) into the test Asterisk's ``pjsip-operators.conf`` and
reloads it over AMI; a desk phone (SIPp) registers with the password the command showed once;
a wrong password, or the desk phone's password on the browser's endpoint, is refused; after
``hotline operator sip-reset`` the old password no longer registers and the new one does. An
operator made before the digests (migration 0012) keeps registering with the same secret: before
``hotline operator sync`` (Asterisk challenges in the digests' realm) and after it.
(The browser softphone registering with its HA1 from the console's own page:
test_console_phone.py.)"""

from __future__ import annotations

import re
from hashlib import md5
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.conftest import AsteriskFactory
from tests.integration.console.console_stack import Gateway
from tests.support.asterisk import Asterisk
from tests.support.sipp import sipp_register
from tickets.db import Database
from tickets.migrate import upgrade

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


def gateway_of(ast: Asterisk, home: Path) -> Gateway:
    """The CLI, writing the operators' endpoints where this Asterisk includes them and
    reloading it over AMI."""
    return Gateway(home, {
        "HOTLINE_AMI_HOST": "127.0.0.1", "HOTLINE_AMI_PORT": str(ast.ami_port),
        "HOTLINE_AMI_USERNAME": ast.ami_user, "HOTLINE_AMI_SECRET": ast.ami_secret,
        "HOTLINE_PJSIP_OPERATORS": str(ast.conf_dir / "pjsip-operators.conf")})


def test_a_desk_phone_registers_with_the_password_shown_once(
        asterisk_factory: AsteriskFactory, tmp_path: Path) -> None:
    ast = asterisk_factory()
    operators = ast.conf_dir / "pjsip-operators.conf"
    gateway = gateway_of(ast, tmp_path / "gateway")
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
    assert registered.statuses == [401, 200] and registered.realms == ["hotline-96010"]
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


OLD_SECRET = "0123456789abcdef" * 3


def old_section(name: str, template: str) -> str:
    """An endpoint as ``hotline operator`` wrote it before migration 0012: a plain password
    and no realm."""
    return (f"[{name}]({template})\nauth = {name}\naors = {name}\n\n[{name}](operator-aor)\n\n"
            f"[{name}](operator-auth)\nusername = {name}\npassword = {OLD_SECRET}\n")


def test_an_operator_from_before_the_digests_keeps_registering(
        asterisk_factory: AsteriskFactory, tmp_path: Path) -> None:
    ast = asterisk_factory(overrides={"pjsip-operators.conf": "\n".join((
        old_section("op-carol", "operator-webrtc"),
        old_section("op-carol-desk", "operator-deskphone")))})
    work = tmp_path / "sipp"
    # before the sync, Asterisk challenges in the realm the migration hashes with: the browser
    # handed md5(op-carol:hotline-96010:secret) registers (SIPp computes the same from it)
    for user in ("op-carol", "op-carol-desk"):
        before = sipp_register(ast.sip_port, user=user, password=OLD_SECRET,
                               workdir=work / f"before-{user}")
        assert before.ok and before.realms == ["hotline-96010"], before.output

    # the person as the 0010 database held them, then migrated
    gateway = gateway_of(ast, tmp_path / "gateway")
    (gateway.home / "var").mkdir(parents=True)
    db = Database(f"sqlite:///{gateway.home / 'var' / 'hotline.sqlite3'}")
    upgrade(db, "0010")
    people = sa.table("people", *(sa.column(c) for c in (
        "login", "display_name", "role", "active", "password_hash", "sip_user", "sip_secret",
        "phone_kind", "units", "created_at", "updated_at")))
    with db.write() as conn:
        conn.execute(people.insert().values(
            login="carol", display_name="王五", role="operator", active=True,
            password_hash="$argon2id$x", sip_user="op-carol", sip_secret=OLD_SECRET,
            phone_kind="both", units="", created_at=sa.func.now(), updated_at=sa.func.now()))
    db.dispose()
    gateway.cli("migrate")
    out = gateway.cli("operator", "sync")
    assert "written (2 endpoints)" in out and "Asterisk reloaded res_pjsip" in out, out
    conf = (ast.conf_dir / "pjsip-operators.conf").read_text()
    assert OLD_SECRET not in conf and conf.count("password_digest = MD5:") == 2

    # the phones keep their secret
    for user in ("op-carol", "op-carol-desk"):
        after = sipp_register(ast.sip_port, user=user, password=OLD_SECRET,
                              workdir=work / f"after-{user}")
        assert after.ok and after.statuses == [401, 200], after.output
    assert refused(ast, "op-carol-desk", OLD_SECRET[::-1], work / "wrong")
