"""The replay memory: a signed (timestamp, nonce) is good for one body — in-process and in Redis."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from channels.wechat import replay
from channels.wechat.replay import ReplayGuard
from tests.support.services import RedisServer

BODY, OTHER = b"<xml>first</xml>", b"<xml>forged</xml>"


async def _replays(guard: ReplayGuard) -> list[bool]:
    try:
        return [
            await guard.first_use("1795700000", "n1", BODY),  # first delivery
            await guard.first_use("1795700000", "n1", BODY),  # WeChat's retry
            await guard.first_use("1795700000", "n1", OTHER),  # a replay with another body
            await guard.first_use("1795700000", "n2", OTHER),  # another nonce
            await guard.first_use("1795700001", "n1", OTHER),  # another timestamp
        ]
    finally:
        await guard.close()


EXPECTED = [True, True, False, True, True]


def test_in_process_memory() -> None:
    assert asyncio.run(_replays(ReplayGuard(None, ttl=600))) == EXPECTED


def test_redis_memory_is_shared_by_two_guards(redis_server: RedisServer) -> None:
    async def run() -> tuple[list[bool], bool, bool]:
        one, two = ReplayGuard(redis_server.url, 600), ReplayGuard(redis_server.url, 600)
        try:
            first = await one.first_use("1795700000", "n9", BODY)
            replayed = await two.first_use("1795700000", "n9", OTHER)
            retried = await two.first_use("1795700000", "n9", BODY)
        finally:
            await one.close()
            await two.close()
        return await _replays(ReplayGuard(redis_server.url, 600)), first and retried, replayed

    results, accepted, replayed = asyncio.run(run())
    assert results == EXPECTED and accepted and not replayed


def test_without_redis_the_local_memory_stands_in(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    assert asyncio.run(_replays(ReplayGuard(gone, ttl=600))) == EXPECTED
    assert any("local" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)


def test_memories_expire_after_the_window() -> None:
    guard = ReplayGuard(None, ttl=1)

    async def run() -> list[bool]:
        try:
            seen = [await guard.first_use("1795700000", "a", BODY)]
            await asyncio.sleep(1.1)  # past the window the timestamp itself is stale anyway
            seen.append(await guard.first_use("1795700000", "a", OTHER))
            return seen
        finally:
            await guard.close()

    assert asyncio.run(run()) == [True, True]


def test_the_local_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "LOCAL_MAX", 3)
    guard = ReplayGuard(None, ttl=600)

    async def run() -> bool:
        for nonce in "abcdef":
            assert await guard.first_use("1795700000", nonce, BODY)
        return await guard.first_use("1795700000", "f", OTHER)

    assert asyncio.run(run()) is False  # the newest is still remembered
    assert len(guard._local) <= 3
