"""``hotline worker``: a missing Vosk model stops only the transcribe queue, unless it was asked
for by name; the dispatch job runs either way, with the one worker context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.context import CliContext
from hotline.errors import CliError
from hotline.settings import Settings
from hotline.worker import NoEngine, WorkerContext, run_worker
from tests.support.intakes import intake
from tests.support.services import RedisServer
from tickets.model import Channel, Status
from tickets.queues import ALL_QUEUES, QueueName
from tickets.relay import relay_once


def settings(tmp_path: Path, redis: RedisServer) -> Settings:
    return Settings(_env_file=None, env="development", data_dir=tmp_path,
                    redis_url=redis.url, vosk_model=tmp_path / "no-such-model")


@pytest.fixture
def ctx(tmp_path: Path, redis_server: RedisServer) -> Iterator[CliContext]:
    context = CliContext(settings(tmp_path, redis_server))
    context.migrate()
    yield context
    context.close()


def test_missing_model_drops_only_the_transcribe_queue(
    ctx: CliContext, caplog: pytest.LogCaptureFixture
) -> None:
    store = ctx.store
    ticket = store.submit(intake("w-1", "测试", channel=Channel.api)).ticket
    assert relay_once(store.db, ctx.redis) == 1
    assert run_worker(ctx, list(ALL_QUEUES), burst=True, explicit=False) == 0
    assert "not serving the transcribe queue" in caplog.text
    assert "hotline models fetch" in caplog.text
    assert store.get(ticket.id).status is Status.registered


def test_missing_model_is_an_error_when_transcribe_is_asked_for(ctx: CliContext) -> None:
    with pytest.raises(CliError, match="hotline models fetch"):
        run_worker(ctx, [QueueName.transcribe], burst=True, explicit=True)


def test_the_worker_needs_a_migrated_database(tmp_path: Path,
                                              redis_server: RedisServer) -> None:
    context = CliContext(settings(tmp_path, redis_server))
    try:
        with pytest.raises(CliError, match="run 'hotline migrate' first"):
            run_worker(context, [QueueName.dispatch], burst=True)
    finally:
        context.close()


def test_a_context_without_an_engine_says_which_queue_needs_one(ctx: CliContext) -> None:
    context = WorkerContext(store=ctx.store, media_dir=ctx.settings.media_path)
    with pytest.raises(NoEngine, match="transcribe"):
        _ = context.engine
