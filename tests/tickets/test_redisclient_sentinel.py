"""The client factory behind Sentinel: a sync and an asyncio client made once keep working
after the primary is SIGKILLed (they ask the Sentinels again), and write to the promoted one."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis

from tests.support.services import SentinelGroup, wait_until
from tickets import redisclient
from tickets.redistarget import SentinelTarget, parse_sentinels

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def kill_primary(group: SentinelGroup) -> int:
    """SIGKILL the primary; the port of the replica, which Sentinel will promote."""
    assert group.primary.proc is not None
    os.kill(group.primary.proc.pid, signal.SIGKILL)
    group.primary.proc.wait()
    return group.replica.port


def on(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)


def test_a_sync_client_follows_the_failover(sentinel_group: SentinelGroup) -> None:
    url = SentinelTarget(parse_sentinels(sentinel_group.addresses), sentinel_group.service).url()
    client = redisclient.connect(url)
    client.set("before", "1")
    promoted = kill_primary(sentinel_group)

    def written() -> bool:
        try:
            return bool(client.set("after", "1"))
        except redis.ConnectionError:
            return False

    try:
        wait_until(written, timeout=60, interval=0.5)
    finally:
        client.close()
    with on(promoted) as check:
        assert check.get("after") == b"1" and check.get("before") == b"1"


def test_an_asyncio_client_follows_the_failover(sentinel_group: SentinelGroup) -> None:
    url = SentinelTarget(parse_sentinels(sentinel_group.addresses), sentinel_group.service).url()

    async def run() -> None:
        client = redisclient.connect_async(url, redisclient.REQUEST)
        await client.set("before", "1")
        kill_primary(sentinel_group)
        for _ in range(120):
            try:
                await client.set("after", "1")
                break
            except redis.ConnectionError:
                await asyncio.sleep(0.5)
        await client.aclose()

    asyncio.run(run())
    with on(sentinel_group.replica.port) as check:
        assert check.get("after") == b"1"
