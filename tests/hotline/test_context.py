"""The CLI context: settings validated once into one line, the store opened only when asked
for and only at the newest schema, the database's problems named with their fix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.context import CliContext, settings_or_error
from hotline.errors import CliError
from hotline.settings import Settings
from tests.support.services import free_port
from tickets.db import Database
from tickets.migrate import upgrade


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    return tmp_path


def settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(_env_file=None, env="development",
                    data_dir=tmp_path / "var", **over)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[CliContext]:
    context = CliContext(settings(tmp_path))
    yield context
    context.close()


def test_bad_settings_become_one_line_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_HTTP_PORT", "abc")
    monkeypatch.setenv("HOTLINE_RATE_LIMIT_SENDER", "nonsense")
    with pytest.raises(CliError) as caught:
        settings_or_error()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("invalid settings: HOTLINE_HTTP_PORT: ")
    assert "; HOTLINE_RATE_LIMIT_SENDER: " in message and "nonsense" in message
    assert caught.value.__suppress_context__  # no chained pydantic traceback


def test_a_whole_settings_problem_is_named_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WECHAT_TOKEN", "changeme")
    with pytest.raises(CliError, match="HOTLINE_WECHAT_TOKEN is a placeholder"):
        settings_or_error()


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_HTTP_PORT", "9001")
    assert settings_or_error(http_port=9002).http_port == 9002


def test_nothing_is_opened_until_asked_for(tmp_path: Path, ctx: CliContext) -> None:
    assert ctx.settings.data_dir == tmp_path / "var"
    assert not (tmp_path / "var").exists()
    ctx.close()  # closing what was never opened is fine
    assert not (tmp_path / "var").exists()


def test_the_store_needs_a_migrated_database(tmp_path: Path, ctx: CliContext) -> None:
    with pytest.raises(CliError, match=r"the database is empty, the gateway needs \w+; "
                                       r"run 'hotline migrate' first"):
        _ = ctx.store
    store = ctx.migrate()
    assert ctx.store is store  # one store, opened once
    assert (tmp_path / "var" / "hotline.sqlite3").exists()
    assert store.current_seq() == 0


def test_an_old_schema_is_named_by_its_revision(tmp_path: Path, ctx: CliContext) -> None:
    (tmp_path / "var").mkdir()
    db = Database(ctx.settings.resolved_database_url)
    upgrade(db, "0001")
    db.dispose()
    with pytest.raises(CliError, match=r"the database is at revision 0001.*hotline migrate"):
        _ = ctx.store
    ctx.migrate()
    _ = ctx.store


def test_an_unreachable_database_names_the_setting(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline"
    context = CliContext(settings(tmp_path, database_url=url))
    try:
        with pytest.raises(CliError) as opening:
            _ = context.store
        with pytest.raises(CliError) as migrating:
            context.migrate()
        for caught in (opening, migrating):
            message = str(caught.value)
            assert message.startswith("the database does not answer (")
            assert "check HOTLINE_DATABASE_URL" in message and "\n" not in message
    finally:
        context.close()


def test_redis_is_one_client_opened_when_asked_for(tmp_path: Path) -> None:
    context = CliContext(settings(tmp_path, redis_url="redis://127.0.0.1:1/0"))
    try:
        assert context.redis is context.redis  # no connection is made until a command uses it
    finally:
        context.close()
