"""``hotline worker``: a missing Vosk model stops only the transcribe queue, unless it was asked
for by name; the dispatch job runs either way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.cli import CliError
from hotline.settings import Settings
from hotline.worker import run_worker
from router.model import Channel, Intake, Status
from router.queues import ALL_QUEUES, connect
from router.relay import relay_once
from router.store import Store
from tests.conftest import make_store
from tests.support.services import RedisServer


def settings(tmp_path: Path, redis: RedisServer) -> Settings:
    return Settings(_env_file=None, env="development", data_dir=tmp_path,  # type: ignore[call-arg]
                    redis_url=redis.url, vosk_model=tmp_path / "no-such-model")


def test_missing_model_drops_only_the_transcribe_queue(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings(tmp_path, redis_server)
    store: Store = make_store(s.resolved_database_url)
    ticket = store.submit(Intake(channel=Channel.api, channel_ref="w-1",
                                 received_at=datetime.now(UTC), text="测试")).ticket
    relay_once(store.db, connect(redis_server.url))
    assert run_worker(s, list(ALL_QUEUES), burst=True, explicit=False) == 0
    assert "not serving the transcribe queue" in caplog.text
    assert "hotline models fetch" in caplog.text
    assert store.get(ticket.id).status is Status.registered


def test_missing_model_is_an_error_when_transcribe_is_asked_for(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with pytest.raises(CliError, match="hotline models fetch"):
        run_worker(settings(tmp_path, redis_server), ["transcribe"], burst=True, explicit=True)
