"""``hotline operator``: in-process and as real processes. Passwords come from a prompt on a
terminal (a real pseudo-terminal here) or from stdin, never from the command line; every change
rewrites pjsip-operators.conf and reports whether Asterisk was reloaded."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from hashlib import md5
from pathlib import Path

import pytest

from console.people import People, Role
from hotline.cli import main
from tests.hotline.gateway import base_env, hotline, migrate
from tests.support.services import free_port
from tests.support.settings_env import hotline_env
from tickets.db import Database

PASSWORD = "correct horse battery"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for in-process runs: no HOTLINE_* from outside, data under tmp_path, a
    migrated SQLite database, no AMI."""
    hotline_env(monkeypatch, tmp_path)
    assert main(["migrate"]) == 0
    return tmp_path


def conf(workdir: Path) -> Path:
    return workdir / "var" / "asterisk" / "pjsip-operators.conf"


def people(workdir: Path) -> People:
    return People(Database(f"sqlite:///{workdir / 'var' / 'hotline.sqlite3'}"))


def with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_add_list_disable_enable_in_process(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "alice", "--name", "张三", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "added alice (张三, operator); SIP endpoint op-alice" in out
    assert f"{conf(workdir)}: written (1 endpoints)" in out
    assert "reload Asterisk by hand: asterisk -rx 'module reload res_pjsip.so'" in out
    assert PASSWORD not in out
    alice = people(workdir).by_login("alice")
    assert alice is not None and alice.role is Role.operator
    text = conf(workdir).read_text()
    assert "[op-alice](operator-webrtc)" in text
    assert f"password_digest = MD5:{alice.sip_ha1}" in text and "password =" not in text
    assert "desk phone" not in out  # a browser's SIP secret is never shown
    assert conf(workdir).stat().st_mode & 0o777 == 0o640

    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "bob", "--name", "李四", "--role", "supervisor",
                 "--phone", "deskphone", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    bob = people(workdir).by_login("bob")
    assert bob is not None and bob.is_supervisor
    shown = desk_password(out, "op-bob")
    assert bob.sip_ha1 == md5(f"op-bob:hotline-96010:{shown}".encode()).hexdigest()
    assert shown not in conf(workdir).read_text()

    assert main(["operator", "list"]) == 0
    listed = capsys.readouterr().out
    assert shown not in listed
    listing = listed.splitlines()
    assert [line.split()[:5] for line in listing] == [
        ["alice", "operator", "active", "webrtc", "op-alice"],
        ["bob", "supervisor", "active", "deskphone", "op-bob"]]

    assert main(["operator", "disable", "alice"]) == 0
    assert "disabled alice; their console sessions have ended" in capsys.readouterr().out
    assert "op-alice" not in conf(workdir).read_text()
    assert "[op-bob](operator-deskphone)" in conf(workdir).read_text()
    assert people(workdir).verify("alice", PASSWORD) is None

    assert main(["operator", "enable", "alice"]) == 0
    assert "[op-alice](operator-webrtc)" in conf(workdir).read_text()
    assert people(workdir).verify("alice", PASSWORD) is not None


def desk_password(out: str, endpoint: str) -> str:
    """The desk phone's password as ``hotline operator`` shows it (exactly once)."""
    found = re.findall(rf"desk phone: register as {endpoint} with password ([0-9a-f]{{24}}) ",
                       out)
    assert len(found) == 1, out
    return str(found[0])


def test_the_desk_phone_password_is_shown_once_and_replaced_by_sip_reset(
        workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "carol", "--name", "王五", "--phone", "both",
                 "--password-stdin"]) == 0
    out = capsys.readouterr().out
    first = desk_password(out, "op-carol-desk")
    assert out.count(first) == 1
    assert "shown only now" in out and "hotline operator sip-reset carol" in out
    carol = people(workdir).by_login("carol")
    assert carol is not None
    assert carol.sip_desk_ha1 == md5(f"op-carol-desk:hotline-96010:{first}".encode()).hexdigest()
    text = conf(workdir).read_text()
    assert f"password_digest = MD5:{carol.sip_desk_ha1}" in text and first not in text
    # nothing shows it again: not the list, not a sync
    assert main(["operator", "list"]) == 0 and main(["operator", "sync"]) == 0
    assert first not in capsys.readouterr().out

    assert main(["operator", "sip-reset", "carol"]) == 0
    out = capsys.readouterr().out
    second = desk_password(out, "op-carol-desk")
    assert second != first
    assert "the old desk phone password no longer works" in out
    assert "written (2 endpoints)" in out
    after = people(workdir).by_login("carol")
    assert after is not None and after.sip_ha1 != carol.sip_ha1
    assert after.sip_desk_ha1 == md5(
        f"op-carol-desk:hotline-96010:{second}".encode()).hexdigest()
    assert f"password_digest = MD5:{after.sip_desk_ha1}" in conf(workdir).read_text()


def test_sip_reset_of_a_browser_only_person_shows_no_password(
        workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    main(["operator", "add", "alice", "--name", "张三", "--password-stdin"])
    before = people(workdir).by_login("alice")
    capsys.readouterr()
    assert main(["operator", "sip-reset", "alice"]) == 0
    out = capsys.readouterr().out
    assert "new SIP secrets for alice: the console's softphone takes its new one" in out
    assert "desk phone" not in out
    after = people(workdir).by_login("alice")
    assert before is not None and after is not None and after.sip_ha1 != before.sip_ha1


def test_passwd_changes_only_the_password(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    main(["operator", "add", "alice", "--name", "张三", "--password-stdin"])
    before = conf(workdir).read_text()
    capsys.readouterr()
    with_stdin(monkeypatch, "a brand new password\n")
    assert main(["operator", "passwd", "alice", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "new password for alice" in out and "unchanged (1 endpoints)" in out
    assert conf(workdir).read_text() == before
    assert people(workdir).verify("alice", "a brand new password") is not None
    assert people(workdir).verify("alice", PASSWORD) is None


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["operator", "add", "Alice", "--name", "张三", "--password-stdin"], PASSWORD,
     "'Alice' is not a valid login name"),
    (["operator", "add", "alice", "--name", "张三", "--password-stdin"], "short",
     "the password is too short: at least 10 characters; nothing changed"),
    (["operator", "add", "alice", "--name", "张三", "--password-stdin"], "",
     "no password on standard input"),
    (["operator", "add", "alice", "--name", "张三"], PASSWORD,
     "no terminal to ask for the password; pipe it in with --password-stdin"),
    (["operator", "disable", "nobody"], "", "nobody is called 'nobody'"),
    (["operator", "passwd", "nobody", "--password-stdin"], PASSWORD,
     "nobody is called 'nobody'"),
    (["operator", "sip-reset", "nobody"], "", "nobody is called 'nobody'"),
])
def test_refusals_are_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], argv: list[str],
                               stdin: str, message: str) -> None:
    with_stdin(monkeypatch, stdin + "\n" if stdin else "")
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hotline: {message}"), err
    assert "Traceback" not in err
    assert people(workdir).list() == []


def test_a_duplicate_is_refused(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    main(["operator", "add", "alice", "--name", "张三", "--password-stdin"])
    capsys.readouterr()
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "alice", "--name", "又一个", "--password-stdin"]) == 2
    assert "someone is already called 'alice'" in capsys.readouterr().err


def test_there_is_no_password_option(workdir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["operator", "add", "alice", "--name", "张三", "--password", PASSWORD])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --password" in capsys.readouterr().err


def test_an_unwritable_file_says_how_to_recover(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    blocker = workdir / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("HOTLINE_PJSIP_OPERATORS", str(blocker / "pjsip-operators.conf"))
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "alice", "--name", "张三", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert "could not write" in err and "hotline operator sync'" in err
    assert people(workdir).by_login("alice") is not None
    monkeypatch.setenv("HOTLINE_PJSIP_OPERATORS", str(workdir / "ops.conf"))
    assert main(["operator", "sync"]) == 0
    assert "[op-alice](operator-webrtc)" in (workdir / "ops.conf").read_text()


def test_an_unreachable_asterisk_is_a_warning(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_AMI_PORT", str(free_port()))
    monkeypatch.setenv("HOTLINE_AMI_USERNAME", "hotline")
    monkeypatch.setenv("HOTLINE_AMI_SECRET", "e81f0c7a2d9b4f36")
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "alice", "--name", "张三", "--password-stdin"]) == 0
    captured = capsys.readouterr()
    assert "written (1 endpoints)" in captured.out
    assert captured.err.startswith("hotline: warning: Asterisk's AMI at 127.0.0.1:")
    assert "reload by hand: asterisk -rx 'module reload res_pjsip.so'" in captured.err


# ---------------------------------------------------------------------- real processes


def test_password_from_stdin_in_a_real_process(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    migrate(tmp_path, env)
    argv = hotline("operator", "add", "alice", "--name", "张三", "--password-stdin")
    assert not any(PASSWORD in arg for arg in argv)
    done = subprocess.run(argv, input=PASSWORD + "\n", env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "added alice" in done.stdout and PASSWORD not in done.stdout + done.stderr
    listed = subprocess.run(hotline("operator", "list"), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.stdout.split()[:3] == ["alice", "operator", "active"]
    assert people(tmp_path).verify("alice", PASSWORD) is not None


def _read_until(fd: int, marker: bytes, seen: bytearray, limit: float = 60.0) -> None:
    """Read the terminal until ``marker`` appears (``limit`` only guards against a hang)."""
    deadline = time.monotonic() + limit
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{marker!r} never came; the terminal showed {bytes(seen)!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the process closed the terminal
                chunk = b""
            if not chunk:
                raise EOFError(f"terminal closed; it showed {bytes(seen)!r}")
            seen.extend(chunk)


def _on_a_terminal(tmp_path: Path, env: dict[str, str], args: list[str],
                   answers: list[str]) -> tuple[int, str]:
    """Run ``hotline ARGS`` on a new pseudo-terminal, answer each password prompt; its exit
    status and everything the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(hotline(*args), stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=tmp_path, start_new_session=True)
    os.close(slave)
    seen = bytearray()
    try:
        for prompt, answer in zip((b"password: ", b"password again: "), answers, strict=True):
            _read_until(master, prompt, seen)
            os.write(master, answer.encode() + b"\n")
        status = proc.wait(timeout=120)
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return status, seen.decode("utf-8", "replace")


def test_the_prompt_asks_twice_and_does_not_echo(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    migrate(tmp_path, env)
    status, shown = _on_a_terminal(tmp_path, env,
                                   ["operator", "add", "carol", "--name", "王五"],
                                   [PASSWORD, PASSWORD])
    assert status == 0, shown
    assert "password: " in shown and "password again: " in shown
    assert PASSWORD not in shown
    assert "added carol" in shown
    assert people(tmp_path).verify("carol", PASSWORD) is not None


def test_two_different_answers_change_nothing(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    migrate(tmp_path, env)
    status, shown = _on_a_terminal(tmp_path, env,
                                   ["operator", "add", "carol", "--name", "王五"],
                                   [PASSWORD, PASSWORD + "!"])
    assert status == 2
    assert "hotline: the two passwords differ; nothing changed" in shown
    assert people(tmp_path).list() == []


def test_desks_and_grid_workers_are_bound_to_configured_units(
        workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "ds", "--name", "东四街道", "--role", "street", "--unit",
                 "DS", "--password-stdin"]) == 0
    assert "added ds (东四街道, street of street:DS)" in capsys.readouterr().out
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "health", "--name", "卫健委", "--role", "department",
                 "--unit", "dept.health", "--password-stdin"]) == 0
    with_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["operator", "add", "gw", "--name", "网格员", "--role", "grid", "--unit",
                 "DC-DHM-0101,DC-DHM-0102", "--password-stdin"]) == 0
    capsys.readouterr()
    store = people(workdir)
    ds, health, gw = (store.by_login(n) for n in ("ds", "health", "gw"))
    assert ds is not None and ds.role is Role.street and ds.units == ("street:DS",)
    assert health is not None and health.units == ("dept:dept.health",)
    assert gw is not None and gw.cells == ("DC-DHM-0101", "DC-DHM-0102")
    # desks answer no calls: no SIP endpoint
    assert "op-ds" not in conf(workdir).read_text()
    assert main(["operator", "sip-reset", "ds"]) == 2
    assert "hotline: ds (street) has no SIP endpoint; nothing changed" in capsys.readouterr().err
    assert store.by_login("ds") == ds

    for args, problem in (
            (["--role", "street", "--unit", "XX"], "unknown street code XX"),
            (["--role", "department", "--unit", "dept.nowhere"],
             "unknown department code dept.nowhere"),
            (["--role", "grid", "--unit", "DC-DHM-9999"], "unknown grid code DC-DHM-9999"),
            (["--role", "street"], "a street needs --unit"),
            (["--role", "street", "--unit", "DS,DHM"], "exactly one unit"),
            (["--role", "operator", "--unit", "DS"], "no --unit")):
        with_stdin(monkeypatch, PASSWORD + "\n")
        assert main(["operator", "add", "x1", "--name", "某人", *args,
                     "--password-stdin"]) != 0
        assert problem in capsys.readouterr().err
        assert store.by_login("x1") is None
