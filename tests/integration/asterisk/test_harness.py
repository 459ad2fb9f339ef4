"""The Asterisk harness itself: boots from the shared chroot, answers CLI and AMI, stops by PID
and leaves no mount behind; two instances run from the one root at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import AsteriskFactory
from tests.support.asterisk import CONF_DIR, Asterisk, render

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]


def _host_mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def test_boots_answers_and_stops_cleanly(asterisk_factory: AsteriskFactory,
                                         tmp_path: Path) -> None:
    ast = asterisk_factory()
    assert "Asterisk 22." in ast.cli("core show version")
    pong = ast.ami({"Action": "Ping"})
    assert pong[0]["Response"] == "Success"
    assert f"127.0.0.1:{ast.sip_port}" in ast.cli("pjsip show transports")
    assert "operators-96010" in ast.cli("queue show operators-96010")
    # Mounts live only in the instance's namespace, never in ours.
    assert str(tmp_path) not in _host_mounts()
    pid = ast.pid
    assert pid is not None
    ast.stop()
    assert ast.pid is None
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert str(tmp_path) not in _host_mounts()
    assert "cleanly ending" in (ast.workdir / "asterisk.out").read_text()


def test_only_needed_modules_load_without_errors(asterisk: Asterisk) -> None:
    log = asterisk.messages_log()
    errors = [line for line in log.splitlines() if " ERROR[" in line]
    assert errors == []
    modules = asterisk.cli("module show")
    for name in ("res_agi.so", "app_queue.so", "chan_pjsip.so", "res_pjsip_caller_id.so",
                 "app_record.so", "func_env.so", "res_ari.so", "app_audiosocket.so"):
        assert name in modules
    assert "chan_iax2.so" not in modules  # autoload = no


def test_two_instances_share_the_root(asterisk_factory: AsteriskFactory) -> None:
    one = asterisk_factory(name="one")
    two = asterisk_factory(name="two")
    assert one.sip_port != two.sip_port and one.ami_port != two.ami_port
    assert str(one.workdir) in one.cli("core show settings")
    assert str(two.workdir) in two.cli("core show settings")
    assert one.ami({"Action": "Ping"})[0]["Response"] == "Success"
    assert two.ami({"Action": "Ping"})[0]["Response"] == "Success"
    one.stop()
    assert "Asterisk 22." in two.cli("core show version")


def test_render_refuses_unfilled_placeholders() -> None:
    assert render("port=@PORT@", {"PORT": "5"}) == "port=5"
    with pytest.raises(KeyError):
        render("port=@PORT@ @OTHER@", {"PORT": "5"})
    assert render("user@example", {}) == "user@example"



def test_production_sip_ami_ari_config_loads(asterisk_factory: AsteriskFactory) -> None:
    """The production pjsip/manager/http/ari files, only their listen ports moved to the
    harness's loopback ports: they parse, and define what the gateway relies on."""
    production = {name: (CONF_DIR / name).read_text()
                  for name in ("pjsip.conf", "manager.conf", "http.conf", "ari.conf")}
    production["pjsip.conf"] = production["pjsip.conf"].replace(
        "bind = 0.0.0.0:5060", "bind = 127.0.0.1:@SIP_PORT@")
    production["manager.conf"] = production["manager.conf"].replace(
        "port = 5038", "port = @AMI_PORT@").replace(
        "[hotline]", "[@AMI_USER@]\nsecret = @AMI_SECRET@\nread = all\nwrite = all\n\n[hotline]")
    production["http.conf"] = production["http.conf"].replace(
        "bindport = 8088", "bindport = @HTTP_PORT@")
    assert all("@" in production[name] for name in ("pjsip.conf", "manager.conf", "http.conf"))
    ast = asterisk_factory(overrides=production)
    endpoints = ast.cli("pjsip show endpoints")
    assert "carrier" in endpoints
    assert "192.0.2.10" in ast.cli("pjsip show identifies")
    assert "hotline" in ast.cli("manager show users")
    assert "hotline" in ast.cli("ari show users")
    assert f"127.0.0.1:{ast.sip_port}" in ast.cli("pjsip show transports")
    errors = [line for line in ast.messages_log().splitlines() if " ERROR[" in line]
    assert errors == []


def test_hear_must_be_visible_to_asterisk(asterisk: Asterisk, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not visible"):
        asterisk.call_local(script=[], hear=tmp_path / "elsewhere" / "heard.wav")
