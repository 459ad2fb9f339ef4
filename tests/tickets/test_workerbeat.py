"""``QuietBookkeeping``: RQ's standalone worker heartbeats throttled and pipelined, an unchanged
state not written again — and a burst of jobs still done, with fewer writes than RQ's own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from tests.support.services import RedisServer
from tickets import workerbeat
from tickets.jobs import job, path_of
from tickets.queues import QueueName
from tickets.worker import ContextWorker
from tickets.workerbeat import QuietBookkeeping


@job(QueueName.dispatch)
def noted(ctx: list[int], n: int) -> int:
    ctx.append(n)
    return n


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    connection = Redis.from_url(redis_server.url)
    yield connection
    connection.close()


def _worker(redis: Redis) -> QuietBookkeeping:
    worker = QuietBookkeeping(["dispatch"], connection=redis)
    worker.register_birth()
    return worker


def test_a_second_heartbeat_within_the_interval_is_not_written(redis: Redis) -> None:
    worker = _worker(redis)
    worker.heartbeat()
    redis.hset(worker.key, "last_heartbeat", "marker")
    worker.heartbeat()
    assert redis.hget(worker.key, "last_heartbeat") == b"marker"
    worker._beat_at = time.monotonic() - workerbeat.HEARTBEAT_EVERY - 1
    worker.heartbeat()
    assert redis.hget(worker.key, "last_heartbeat") != b"marker"


def test_a_heartbeat_keeps_the_worker_alive_for_minutes(redis: Redis) -> None:
    worker = _worker(redis)
    redis.persist(worker.key)
    worker._beat_at = None
    worker.heartbeat()
    assert redis.ttl(worker.key) > worker.dequeue_timeout + workerbeat.HEARTBEAT_EVERY


def test_a_heartbeat_with_its_own_time_to_live_is_always_written(redis: Redis) -> None:
    worker = _worker(redis)
    worker.heartbeat()
    redis.hset(worker.key, "last_heartbeat", "marker")
    worker.heartbeat(900)
    assert redis.hget(worker.key, "last_heartbeat") != b"marker"
    assert redis.ttl(worker.key) > 800


def test_a_heartbeat_in_rqs_pipeline_is_left_to_the_pipeline(redis: Redis) -> None:
    worker = _worker(redis)
    worker.heartbeat()
    redis.hset(worker.key, "last_heartbeat", "marker")
    with redis.pipeline() as pipe:
        worker.heartbeat(60, pipeline=pipe)
        assert redis.hget(worker.key, "last_heartbeat") == b"marker"  # not sent yet
        answers = pipe.execute()
    assert answers[0] == 0  # RQ reads the HSET's answer (0: the hash was there)
    assert redis.hget(worker.key, "last_heartbeat") != b"marker"


def test_the_state_is_written_only_when_it_changes(redis: Redis) -> None:
    worker = _worker(redis)
    worker.set_state("idle")
    redis.hset(worker.key, "state", "marker")
    worker.set_state("idle")
    assert redis.hget(worker.key, "state") == b"marker"
    assert worker.get_state() == "idle"
    worker.set_state("busy")
    assert redis.hget(worker.key, "state") == b"busy"


def _commands(redis: Redis) -> int:
    return int(redis.info("stats")["total_commands_processed"])


def test_a_burst_does_every_job_with_fewer_writes_than_rqs_own_worker(redis: Redis) -> None:
    jobs = 20

    def run(make: type[SimpleWorker]) -> tuple[list[int], int]:
        done: list[int] = []
        q = Queue("dispatch", connection=redis, serializer=JSONSerializer)
        for n in range(jobs):
            q.enqueue_call(path_of(noted), args=(n,))
        worker = ContextWorker([QueueName.dispatch], connection=redis, context=done)
        worker.subscribe = lambda: None  # type: ignore[method-assign]  # (its thread's end waits)
        if make is SimpleWorker:  # the same worker with RQ's own bookkeeping
            worker.heartbeat = lambda *a, **k: SimpleWorker.heartbeat(worker, *a, **k)  # type: ignore[method-assign]
            worker.set_state = lambda *a, **k: SimpleWorker.set_state(worker, *a, **k)  # type: ignore[method-assign]
        before = _commands(redis)
        worker.work(burst=True)
        return done, _commands(redis) - before

    plain_done, plain = run(SimpleWorker)
    quiet_done, quiet = run(QuietBookkeeping)
    assert plain_done == quiet_done == list(range(jobs))
    # RQ's own writes 3 heartbeats (3 commands each) and 2 states a job; at least 8 of
    # these 11 are spared
    assert plain - quiet >= 8 * jobs
