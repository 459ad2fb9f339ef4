"""The ``hotline`` command as a user meets it: clear one-line messages and exit status 2 on
bad input, bad settings, an unreachable or unmigrated database — never a traceback."""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cli import COMMANDS, main
from tests.hotline.gateway import base_env, hotline, migrate
from tests.support.services import free_port
from tests.support.settings_env import hotline_env
from tickets import apikeys
from tickets.db import Database
from tickets.migrate import upgrade


def run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = base_env(tmp_path)
    env.update(extra)
    return subprocess.run(hotline(*args), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)


def run_together(cases: list[tuple[list[str], dict[str, str]]],
                 tmp_path: Path) -> dict[str, tuple[int, str, str]]:
    """Several commands at once, each with settings of its own (each start costs seconds of
    CPU): ' '.join(args) → (status, out, err)."""
    procs = {" ".join(args): subprocess.Popen(hotline(*args), env={**base_env(tmp_path), **extra},
                                              cwd=tmp_path, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True)
             for args, extra in cases}
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        done[name] = (proc.returncode, out, err)
    return done


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


SCRIPT = Path(sys.executable).parent / "hotline"

# One command line for every command (arguments argparse requires, nothing more).
COMMAND_LINES: dict[str, list[str]] = {
    "serve": ["serve"], "worker": ["worker"], "relay": ["relay"], "migrate": ["migrate"],
    "apikey": ["apikey", "list"], "schema": ["schema"], "run": ["run"],
    "dev-setup": ["dev-setup"], "agi": ["agi"], "prompts": ["prompts", "build"],
    "spool": ["spool", "list"], "models": ["models", "list"],
    "transcribe": ["transcribe", "call.wav"], "jobs": ["jobs", "failed"], "demo": ["demo"],
    "deliveries": ["deliveries", "list"], "check-config": ["check-config"],
    "router": ["router", "explain", "路灯不亮"], "operator": ["operator", "list"],
    "callback": ["callback", "2612070001"],
    "pbx": ["pbx"], "call": ["call", "--key", "3"], "unanswered": ["unanswered", "list"],
}
BAD_SETTINGS = {
    "HOTLINE_HTTP_PORT": "abc",
    "HOTLINE_RATE_LIMIT_SENDER": "nonsense",
    "HOTLINE_LOG_FORMAT": "xml",
    "HOTLINE_TIMEZONE": "Mars/Base",
    "HOTLINE_DATABASE_URL": "foo://x",
}


class _Names:
    """Stands in for argparse's subparsers to learn the names the command modules register."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_parser(self, name: str, **_: object) -> argparse.ArgumentParser:
        self.names.append(name)
        return argparse.ArgumentParser(prog=name)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process runs of ``main``: no stray .env, no HOTLINE_* from outside."""
    hotline_env(monkeypatch, tmp_path)
    return tmp_path


def migrated(workdir: Path) -> None:
    """The database of a ``base_env(workdir)`` gateway, migrated in-process (quicker than
    ``hotline migrate`` in a process of its own)."""
    (workdir / "var").mkdir(mode=0o700, exist_ok=True)  # private, as the gateway makes it
    db = Database(f"sqlite:///{workdir / 'var' / 'hotline.sqlite3'}")
    upgrade(db)
    db.dispose()


def tables(workdir: Path) -> set[str]:
    path = workdir / "var" / "hotline.sqlite3"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")}


# -- bad settings ----------------------------------------------------------------------------

def test_the_command_lines_cover_every_command() -> None:
    names = _Names()
    for module in COMMANDS:
        module.register(names)
    assert sorted(names.names) == sorted(COMMAND_LINES)


@pytest.mark.parametrize("setting", sorted(BAD_SETTINGS))
@pytest.mark.parametrize("command", sorted(COMMAND_LINES))
def test_every_command_refuses_bad_settings_in_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: str, setting: str,
) -> None:
    monkeypatch.setenv(setting, BAD_SETTINGS[setting])
    assert main(COMMAND_LINES[command]) == 2
    captured = capsys.readouterr()
    assert one_line(captured.err).startswith(f"hotline: invalid settings: {setting}: ")
    assert captured.out == ""
    assert not (workdir / "var").exists()  # nothing was started, opened or written
    assert not (workdir / ".env").exists()


def test_bad_settings_are_one_line_and_no_traceback_in_real_processes(tmp_path: Path) -> None:
    port, limit = {"HOTLINE_HTTP_PORT": "abc"}, {"HOTLINE_RATE_LIMIT_SENDER": "nonsense"}
    cases = [(["serve"], port), (["worker"], limit), (["agi"], limit),
             (["jobs", "failed"], port)]
    for name, (status, out, err) in run_together(cases, tmp_path).items():
        assert status == 2, (name, err)
        setting = "HOTLINE_HTTP_PORT" if name in ("serve", "jobs failed") else (
            "HOTLINE_RATE_LIMIT_SENDER")
        assert one_line(err).startswith(f"hotline: invalid settings: {setting}: "), (name, err)
        assert out == "", name
    assert not (tmp_path / "var").exists()


def test_several_bad_settings_are_named_on_the_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_HTTP_PORT", "abc")
    monkeypatch.setenv("HOTLINE_WORKERS", "-1")
    assert main(["relay"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "HOTLINE_HTTP_PORT: " in line and "; HOTLINE_WORKERS: " in line


def test_run_refuses_placeholder_secrets_in_production(tmp_path: Path) -> None:
    result = run(["run"], tmp_path, HOTLINE_ENV="production", HOTLINE_WECHAT_TOKEN="changeme")
    assert result.returncode == 2
    assert "HOTLINE_WECHAT_TOKEN is a placeholder" in one_line(result.stderr)


# -- the database: unmigrated, unreachable -----------------------------------------------------

def test_serve_relay_worker_agi_on_an_unmigrated_database_say_to_migrate(
    tmp_path: Path,
) -> None:
    cases: list[tuple[list[str], dict[str, str]]] = [
        (["serve"], {}), (["relay"], {}), (["worker"], {}), (["agi"], {})]
    for name, (status, out, err) in run_together(cases, tmp_path).items():
        assert status == 2, (name, err)
        line = one_line(err)
        assert line.startswith("hotline: the database is empty"), (name, line)
        assert line.endswith("hotline migrate' first"), (name, line)
        assert out == "", name
    assert tables(tmp_path) <= {"alembic_version"}  # none of them migrated it
    migrate(tmp_path, base_env(tmp_path))
    assert {"tickets", "outbox", "api_keys"} <= tables(tmp_path)


def test_only_migrate_changes_the_schema(workdir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for line in (["apikey", "list"], ["spool", "ingest"],
                 ["apikey", "create", "--scope", "read"]):
        assert main(line) == 2, line
        assert "hotline migrate' first" in one_line(capsys.readouterr().err), line
    assert tables(workdir) <= {"alembic_version"}
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "database is at the newest schema\n"
    assert main(["apikey", "list"]) == 0


def test_an_old_schema_names_its_revision(workdir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "var").mkdir(mode=0o700)  # private, as the gateway makes it
    db = Database(f"sqlite:///{workdir / 'var' / 'hotline.sqlite3'}")
    upgrade(db, "0001")
    db.dispose()
    assert main(["apikey", "list"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "the database is at revision 0001" in line and "hotline migrate" in line
    assert main(["migrate"]) == 0
    assert main(["apikey", "list"]) == 0


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    url = {"HOTLINE_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/hotline"}
    for name, (status, _, err) in run_together([(["serve"], url), (["migrate"], url)],
                                               tmp_path).items():
        assert status == 2, (name, err)
        text = one_line(err)
        assert "the database does not answer" in text, (name, text)
        assert "HOTLINE_DATABASE_URL" in text, (name, text)


@pytest.mark.parametrize("line", [["spool", "ingest"], ["apikey", "list"], ["migrate"],
                                  ["apikey", "create", "--scope", "read"]])
def test_an_unreachable_database_is_one_line_for_every_command_that_opens_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    line: list[str],
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL",
                       f"postgresql://postgres@127.0.0.1:{free_port()}/hotline")
    assert main(line) == 2
    text = one_line(capsys.readouterr().err)
    assert text.startswith("hotline: the database does not answer")
    assert "HOTLINE_DATABASE_URL" in text


# -- API keys --------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["console-script", "python-m"])
def test_apikey_with_an_unknown_scope_names_the_valid_ones(tmp_path: Path, entry: str) -> None:
    migrated(tmp_path)
    if entry == "console-script":
        if not SCRIPT.exists():
            pytest.skip("the hotline console script is not installed beside this Python")
        result = subprocess.run(
            [str(SCRIPT), "apikey", "create", "--scope", "bogus"], env=base_env(tmp_path),
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )
    else:
        result = run(["apikey", "create", "--scope", "bogus"], tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert "bogus" in line
    for scope in ("intake", "read", "events"):
        assert scope in line
    assert result.stdout == ""


def test_apikey_create_writes_a_private_token_file(tmp_path: Path) -> None:
    migrated(tmp_path)
    out = tmp_path / "keys" / "k"
    result = run(["apikey", "create", "--scope", "intake,read", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("hk_")
    assert out.stat().st_mode & 0o777 == 0o600


def created_scopes(workdir: Path, token: str) -> frozenset[apikeys.Scope]:
    db = Database(f"sqlite:///{workdir / 'var' / 'hotline.sqlite3'}")
    try:
        key = apikeys.verify(db, token)
    finally:
        db.dispose()
    assert key is not None
    return key.scopes


def test_scope_may_be_repeated(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["apikey", "create", "--name", "a", "--scope", "intake", "--scope", "read"]) == 0
    repeated = capsys.readouterr().out.strip()
    assert main(["apikey", "create", "--name", "b", "--scope", "intake,read"]) == 0
    joined = capsys.readouterr().out.strip()
    assert main(["apikey", "create", "--name", "c", "--scope", "events",
                 "--scope", "intake,read"]) == 0
    mixed = capsys.readouterr().out.strip()
    both = frozenset({apikeys.Scope.intake, apikeys.Scope.read})
    assert created_scopes(workdir, repeated) == both  # not only the last --scope
    assert created_scopes(workdir, joined) == both
    assert created_scopes(workdir, mixed) == both | {apikeys.Scope.events}
    assert main(["apikey", "create", "--name", "d", "--scope", "read", "--scope", "bogus"]) == 2
    assert "unknown scope bogus" in one_line(capsys.readouterr().err)


def test_a_second_active_key_with_the_same_name_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["apikey", "create", "--name", "erp", "--scope", "intake"]) == 0
    capsys.readouterr()
    assert main(["apikey", "create", "--name", "erp", "--scope", "read"]) == 2
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert line == ("hotline: an active API key is already named 'erp'; choose another name "
                    "or revoke that key first")
    assert captured.out == ""  # no token for a key that was not made
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 1 and "erp" in listing[0] and "active" in listing[0]

    key_id = listing[0].split()[0]
    assert main(["apikey", "revoke", key_id]) == 0
    assert main(["apikey", "create", "--name", "erp", "--scope", "read"]) == 0  # name is free
    capsys.readouterr()
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and all("erp" in line for line in listing)
    assert sum(line.endswith("active") for line in listing) == 1
    assert sum(" revoked " in line for line in listing) == 1


# -- hotline run -----------------------------------------------------------------------------

def test_run_refuses_a_busy_http_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(["run"], tmp_path, HOTLINE_HTTP_PORT=str(port))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"127.0.0.1:{port} is already in use" in line
    assert "HOTLINE_HTTP_PORT" in line
    assert not (tmp_path / "var" / "redis").exists()  # no Redis was started


def test_help_lists_run_and_dev_setup(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    assert "run" in result.stdout and "dev-setup" in result.stdout


def test_run_refuses_a_data_dir_another_supervisor_holds(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o700)  # private, as the gateway makes it
    with os.fdopen(os.open(data / "run.lock", os.O_WRONLY | os.O_CREAT, 0o600), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run(["run"], tmp_path)
    assert result.returncode == 2
    assert f"hotline run' is using {data}" in one_line(result.stderr)
    assert not (data / "redis").exists()
