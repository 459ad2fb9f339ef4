"""The production config folder: placeholder credentials are refused, credentials from the
environment are filled in verbatim, and modules.conf names only modules the package ships."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.asterisk import CONF_DIR, DEFAULT_ROOT, TEST_CONF_DIR, Asterisk, render

CHECK = CONF_DIR / "check-secrets.sh"
FILL = CONF_DIR / "fill-secrets.sh"


def copy_conf(tmp_path: Path) -> Path:
    target = tmp_path / "etc"
    shutil.copytree(CONF_DIR, target, ignore=shutil.ignore_patterns("test"))
    return target


def run(script: Path, conf: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script), str(conf)], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **env}, check=False)


def test_production_placeholders_are_refused() -> None:
    done = run(CHECK, CONF_DIR)
    assert done.returncode == 1
    assert "manager.conf" in done.stderr and "ari.conf" in done.stderr


@pytest.mark.parametrize("line", ["secret = changeme", "secret=", "secret => ChangeMe",
                                  "secret = password ; comment"])
def test_placeholder_spellings_are_refused(tmp_path: Path, line: str) -> None:
    conf = copy_conf(tmp_path)
    (conf / "ari.conf").unlink()
    (conf / "manager.conf").write_text(f"[general]\nenabled = yes\n\n[hotline]\n{line}\n")
    assert run(CHECK, conf).returncode == 1


def test_secrets_from_the_environment_pass(tmp_path: Path) -> None:
    conf = copy_conf(tmp_path)
    secret, password = "k9|&/x\\y 'q\"", "Ari-7f3c9a0d"
    filled = run(FILL, conf, ASTERISK_AMI_SECRET=secret, ASTERISK_ARI_PASSWORD=password)
    assert filled.returncode == 0, filled.stderr
    assert f"secret = {secret}\n" in (conf / "manager.conf").read_text()
    assert f"password = {password}\n" in (conf / "ari.conf").read_text()
    assert run(CHECK, conf).returncode == 0


def test_ami_address_and_networks_from_the_environment(tmp_path: Path) -> None:
    conf = copy_conf(tmp_path)
    filled = run(FILL, conf, ASTERISK_AMI_SECRET="Ami-5e1b7c", ASTERISK_AMI_BINDADDR="0.0.0.0",
                 ASTERISK_AMI_PERMIT="172.16.0.0/255.240.0.0 10.8.0.0/255.255.0.0")
    assert filled.returncode == 0, filled.stderr
    text = (conf / "manager.conf").read_text()
    assert "bindaddr = 0.0.0.0\n" in text and "bindaddr = 127.0.0.1" not in text
    assert ("permit = 127.0.0.1/255.255.255.255\npermit = 172.16.0.0/255.240.0.0\n"
            "permit = 10.8.0.0/255.255.0.0\n") in text
    assert text.count("deny = 0.0.0.0/0.0.0.0") == 1  # everyone else is still refused
    assert run(CHECK, conf).returncode == 1  # ari.conf still holds its placeholder


def test_without_environment_nothing_changes(tmp_path: Path) -> None:
    conf = copy_conf(tmp_path)
    before = (conf / "manager.conf").read_text()
    assert run(FILL, conf).returncode == 0
    assert (conf / "manager.conf").read_text() == before
    assert run(CHECK, conf).returncode == 1


@pytest.mark.skipif(not (DEFAULT_ROOT / "usr/sbin/asterisk").exists(),
                    reason="the Asterisk root is not built")
def test_modules_conf_names_only_shipped_modules() -> None:
    shipped = {p.name for p in (DEFAULT_ROOT / "usr/lib/x86_64-linux-gnu/asterisk/modules")
               .glob("*.so")}
    wanted = re.findall(r"^load\s*=>\s*(\S+)", (CONF_DIR / "modules.conf").read_text(), re.M)
    assert wanted and set(wanted) <= shipped
    assert "autoload = no" in (CONF_DIR / "modules.conf").read_text()


def _rtp_range(text: str) -> tuple[int, int]:
    start = re.search(r"^rtpstart\s*=\s*(\d+)", text, re.M)
    end = re.search(r"^rtpend\s*=\s*(\d+)", text, re.M)
    assert start and end
    return int(start[1]), int(end[1])


def test_rtp_ranges_never_include_port_10080(tmp_path: Path) -> None:
    """Browsers refuse media to port 10080 (Fetch "bad ports"): a WebRTC call given it has no
    audio. Neither the production range nor any range the test harness picks contains it."""
    start, end = _rtp_range((CONF_DIR / "rtp.conf").read_text())
    assert start <= end and not start <= 10080 <= end
    ast = Asterisk(tmp_path / "ast", agi_port=1, shared_dir=tmp_path / "shared")
    for _ in range(200):
        ast._pick_ports()
        start, end = _rtp_range(render((TEST_CONF_DIR / "rtp.conf").read_text(),
                                       ast.config_values()))
        assert start < end and not start <= 10080 <= end
