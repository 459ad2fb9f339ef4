"""What ``hotline run`` starts, found from the CLI's registered subcommands."""

from __future__ import annotations

import argparse
import sys

from hotline.cli import build_parser
from hotline.cmd_run import _hide_password, banner, optional_parts, programs
from hotline.redis_private import PrivateRedis
from hotline.settings import Settings


def parser_with(*, agi: bool, watch: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    sub.add_parser("serve")
    if agi:
        sub.add_parser("agi")
    spool = sub.add_parser("spool").add_subparsers()
    ingest = spool.add_parser("ingest")
    if watch:
        ingest.add_argument("--watch", action="store_true")
    return parser


def test_optional_parts_follow_the_registered_subcommands() -> None:
    assert optional_parts(parser_with(agi=False, watch=False)) == (False, False)
    assert optional_parts(parser_with(agi=True, watch=True)) == (True, True)
    assert optional_parts(argparse.ArgumentParser()) == (False, False)
    optional_parts(build_parser())  # the real parser has a spool command (maybe empty)


def test_programs_are_hotline_subcommands_in_their_own_processes() -> None:
    settings = Settings(_env_file=None, env="development", workers=3)  # type: ignore[call-arg]
    found = {p.name: p.argv for p in programs(settings, agi=True, spool=True, log_level="DEBUG")}
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
    none = Settings(_env_file=None, env="development", workers=0)  # type: ignore[call-arg]
    assert [p.name for p in programs(none, agi=False, spool=False)] == ["http", "relay"]


def test_banner_says_where_things_are_without_passwords() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, env="development",
        database_url="postgresql+psycopg://hotline:s3cret@db:5432/hotline",
        redis_url="redis://:r3dis@cache:6379/0",
    )
    text = banner(settings, programs(settings, agi=True, spool=False), None)
    assert "http://127.0.0.1:8096/" in text and "agi://127.0.0.1:4573/96010" in text
    assert "s3cret" not in text and "r3dis" not in text
    assert "cache:6379" in text and "db:5432" in text
    local = Settings(_env_file=None, env="development")  # type: ignore[call-arg]
    text = banner(local, programs(local, agi=False, spool=False),
                  PrivateRedis(local.redis_socket))
    assert "private redis-server" in text and str(local.data_dir.resolve()) in text
    assert "FastAGI" not in text


def test_hide_password() -> None:
    assert _hide_password("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert _hide_password("redis://u:pw@h:1/0") == "redis://u:***@h:1/0"
    assert _hide_password("unix:///tmp/x.sock") == "unix:///tmp/x.sock"
