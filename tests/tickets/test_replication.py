"""The relay's question before an outbox row counts as sent: are the batch's jobs on this
primary, and has a replica copied them? Real redis-servers: a lone one, and a primary with a
replica that stops acknowledging (SIGSTOP)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import RedisServer, wait_until
from tickets import redisclient, replication


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer(tmp_path / "primary")
    primary.start()
    replica = RedisServer(tmp_path / "replica", replica_of=primary.port)
    replica.start()
    try:
        yield primary, replica
    finally:
        if replica.proc is not None:
            os.kill(replica.proc.pid, signal.SIGCONT)
        replica.stop()
        primary.stop()


def test_a_lone_server_confirms_what_it_holds_and_nothing_else(
        redis_server: RedisServer) -> None:
    redis = redisclient.connect(redis_server.url)
    redis.set("hotline:outbox:a", "1")
    assert replication.connected_replicas(redis) == 0
    assert replication.confirmed(redis, ["hotline:outbox:a"])
    assert not replication.confirmed(redis, ["hotline:outbox:a", "hotline:outbox:b"])
    assert not replication.replica_expected(redis)  # no Sentinel behind a plain URL


def test_a_primary_confirms_only_what_a_replica_acknowledged(
        pair: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = pair
    redis = redisclient.connect(primary.tcp_url)
    wait_until(lambda: replication.connected_replicas(redis) == 1, timeout=30)
    redis.set("hotline:outbox:a", "1")
    assert replication.confirmed(redis, ["hotline:outbox:a"])
    assert replica.proc is not None
    os.kill(replica.proc.pid, signal.SIGSTOP)  # connected, but copies nothing
    redis.set("hotline:outbox:b", "1")
    assert replication.connected_replicas(redis) == 1
    assert not replication.confirmed(redis, ["hotline:outbox:b"], wait_ms=300)
    os.kill(replica.proc.pid, signal.SIGCONT)
    wait_until(lambda: replication.confirmed(redis, ["hotline:outbox:b"], wait_ms=300),
               timeout=30)
