"""asterisk-conf/ rendered for the local PBX: the machine's folders, ports and generated
secrets in place, no placeholder left, the production files otherwise unchanged; a change of
shape in asterisk-conf/ stops the rendering with a message. And why the PBX cannot start."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hotline.pbx import mounts, problem
from hotline.pbx_config import SOURCE, Local, PbxConfigError, render
from hotline.settings import Settings


def local(tmp_path: Path) -> Local:
    return Local(state_dir=tmp_path / "var/asterisk/var", prompts=tmp_path / "prompts",
                 spool=tmp_path / "var/spool", operators=tmp_path / "var/asterisk/ops.conf",
                 ami_user="hotline", ami_secret="generated-AMI-secret-0123", ami_port=15038,
                 agi_host="0.0.0.0", agi_port=14573, sip_port=15060, http_port=18088)


def test_the_rendered_configuration(tmp_path: Path) -> None:
    target = tmp_path / "etc"
    render(local(tmp_path), target)
    conf = {p.name: p.read_text() for p in target.iterdir()}
    assert set(conf) == {p.name for p in SOURCE.glob("*.conf")} | {"extensions-local.conf"}
    state = tmp_path / "var/asterisk/var"
    assert f"astspooldir => {state}/spool" in conf["asterisk.conf"]
    assert "astetcdir => /etc/asterisk-hotline" in conf["asterisk.conf"]
    assert "[hotline]\nsecret = generated-AMI-secret-0123" in conf["manager.conf"]
    assert "port = 15038" in conf["manager.conf"]
    assert "changeme" not in conf["ari.conf"].split("[hotline]")[1]
    assert "bindport = 18088" in conf["http.conf"]
    assert "bind = 127.0.0.1:15060" in conf["pjsip.conf"]
    assert "match = 127.0.0.1" in conf["pjsip.conf"]
    # browsers on this machine connect from 127.0.0.1 too: their user name decides first
    assert "endpoint_identifier_order = username,ip" in conf["pjsip.conf"]
    assert "[resident-web]\ntype = endpoint\ncontext = from-web-resident" in conf["pjsip.conf"]
    assert "[from-web-resident]\nexten => 96010," in conf["extensions-local.conf"]
    assert f'#tryinclude "{tmp_path}/var/asterisk/ops.conf"' in conf["pjsip.conf"]
    assert "0.0.0.0" not in conf["pjsip.conf"].replace(";", "\n;").split("\n;")[0]
    globals_ = conf["hotline-globals.conf"]
    for line in ("PBX_ID = local", "GATEWAY = 127.0.0.1", "AGI_PORT = 14573",
                 f"PROMPTS = {tmp_path}/prompts", f"SPOOL = {tmp_path}/var/spool"):
        assert line in globals_, line
    assert '#include "extensions-local.conf"' in conf["extensions.conf"]
    assert "[hotline-caller]" in conf["extensions-local.conf"]
    # the rest is the production file, byte for byte
    assert conf["extensions-96010.conf"] == (SOURCE / "extensions-96010.conf").read_text()
    assert (target.stat().st_mode & 0o777) == 0o700  # the AMI secret is in it
    assert all((state / sub).is_dir() for sub in ("lib", "spool", "run", "log", "cache"))


def test_a_change_of_shape_is_named(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(SOURCE, source)
    text = (source / "pjsip.conf").read_text().replace("match = 192.0.2.10", "match = 10.0.0.1")
    (source / "pjsip.conf").write_text(text)
    with pytest.raises(PbxConfigError, match=r"asterisk-conf/pjsip.conf: no line matches"):
        render(local(tmp_path), tmp_path / "etc", source)


def test_mounts_keep_the_outermost_folder() -> None:
    chosen = mounts([(Path("/d/var/spool"), False), (Path("/d/var"), False),
                     (Path("/repo/prompts"), True), (Path("/d/var/asterisk"), False)])
    assert chosen == [(Path("/d/var"), False), (Path("/repo/prompts"), True)]


def test_why_the_pbx_cannot_start(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path,
                        asterisk_root=tmp_path / "no-root", ami_username="hotline",
                        ami_secret="generated-AMI-secret-0123")
    if os.geteuid() != 0:
        assert "needs root" in (problem(settings) or "")
        return
    found = problem(settings)
    assert found is not None and "scripts/asterisk-root.sh" in found
    root = tmp_path / "root"
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/asterisk").touch()
    (root / ".hotline-asterisk-version").write_text("Asterisk 21.1.0\n")
    older = problem(settings.model_copy(update={"asterisk_root": root}))
    assert older is not None and "not Asterisk 22" in older
    (root / ".hotline-asterisk-version").write_text("Asterisk 22.10.1\npackage x\n")
    assert problem(settings.model_copy(update={"asterisk_root": root})) is None
    no_ami = settings.model_copy(update={"asterisk_root": root, "ami_secret": None})
    assert "HOTLINE_AMI_SECRET" in (problem(no_ami) or "")
