"""Admission to live recognition is counted in Redis (``hotline:metrics:transcription``) as well
as logged: a call beyond the live capacity is visible, not silent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.services import RedisServer
from transcription.live import LiveTranscriber, new_session_key
from transcription.models import ModelLocation
from transcription.publish import METRICS_KEY, RedisPublisher
from transcription.recognizers import PoolConfig, RecognizerPool

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_call_beyond_capacity_is_counted_and_logged(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture,
) -> None:
    from redis.asyncio import Redis

    # no recognizer process is running: the live capacity is 0, every call goes to batch
    pool = RecognizerPool(PoolConfig(model=ModelLocation(Path("/nonexistent"), "m", "setting"),
                                     processes=1))
    publisher = RedisPublisher(redis_server.url)
    transcriber = LiveTranscriber(pool=pool, port=0, publisher=publisher)
    await transcriber.start()
    caplog.set_level(logging.WARNING, logger="transcription.live")
    for ref in ("pbx/1.1", "pbx/1.2"):
        session = transcriber.expect(new_session_key(), call=ref, topic=ref)
        assert session.recognition is None
        transcriber.cancel(session.key)
    await transcriber.stop()  # publishes what is queued
    await publisher.close()
    client = Redis.from_url(redis_server.url)
    try:
        counts = await client.hgetall(METRICS_KEY)
    finally:
        await client.aclose()
    assert counts == {b"live_refused": b"2"}
    lines = [r.getMessage() for r in caplog.records if "live recognition full" in r.getMessage()]
    assert lines[-1] == ("call pbx/1.2: live recognition full (0 of 0 streams busy); recorded "
                         "for the batch transcriber (2 of 2 calls since start)")
