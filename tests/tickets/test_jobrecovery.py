"""A worker process SIGKILLed while it holds a job: the job runs again within seconds (the
relay's recovery pass), not after RQ's 11-minute timeout or the router's 10-minute sweep, and
its work is done once. Real Redis, real worker processes (tests/support/jobworker.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.job import JobStatus

from tests.support.jobworker import step
from tests.support.services import RedisServer, wait_until
from tickets.jobrecovery import ALIVE_SECONDS, BEAT_SECONDS, Recovery
from tickets.jobs import path_of
from tickets.queues import ALL_QUEUES, JOB_TIMEOUT, QueueName, queue, retry_policy

ROOT = Path(__file__).parents[2]


class Workers:
    """Worker processes, each in its own process group (its RQ scheduler is forked into it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, mode: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.jobworker", self.url, mode],
                                cwd=ROOT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def redis(redis_server: RedisServer) -> Redis:
    return Redis.from_url(redis_server.url)


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[Workers]:
    w = Workers(redis_server.url)
    yield w
    w.stop()


def enqueue(redis: Redis, name: str) -> str:
    """As the relay enqueues: the dispatch queue's retry policy and timeout."""
    job = queue(QueueName.dispatch, redis).enqueue_call(
        path_of(step), args=(name,), timeout=JOB_TIMEOUT,
        retry=retry_policy(QueueName.dispatch))
    return str(job.id)


def ends(redis: Redis, name: str) -> list[bytes]:
    return list(redis.lrange(f"test:{name}:ends", 0, -1))


def starts(redis: Redis, name: str) -> list[bytes]:
    return list(redis.lrange(f"test:{name}:starts", 0, -1))


def recovered(redis: Redis, recovery: Recovery, name: str) -> bool:
    recovery()
    return bool(ends(redis, name))


def test_a_job_claimed_by_a_worker_killed_before_starting_it_runs_again(
        redis: Redis, workers: Workers) -> None:
    holder = workers.start("hold")
    job_id = enqueue(redis, "claimed")
    redis.set("test:claimed:go", "1")
    wait_until(lambda: redis.get("test:held") == job_id.encode(), timeout=30)
    workers.kill(holder)
    # in no queue list and not started: on RQ's BLPOP this job would be gone
    assert not redis.lrange(queue(QueueName.dispatch, redis).key, 0, -1)
    assert not starts(redis, "claimed")

    worker = workers.start("work")
    recovery = Recovery(redis, ALL_QUEUES)
    wait_until(lambda: recovered(redis, recovery, "claimed"), timeout=60, interval=1.0)
    assert starts(redis, "claimed") == ends(redis, "claimed") == [str(worker.pid).encode()]
    job = queue(QueueName.dispatch, redis).fetch_job(job_id)
    wait_until(lambda: job is not None and job.get_status() == JobStatus.FINISHED, timeout=30)


def test_a_job_whose_worker_is_killed_while_running_it_runs_again_and_completes_once(
        redis: Redis, workers: Workers) -> None:
    first = workers.start("work")
    job_id = enqueue(redis, "running")
    wait_until(lambda: len(starts(redis, "running")) == 1, timeout=30)
    workers.kill(first)
    redis.set("test:running:go", "1")

    second = workers.start("work")
    recovery = Recovery(redis, ALL_QUEUES)
    wait_until(lambda: recovered(redis, recovery, "running"), timeout=90, interval=1.0)
    assert starts(redis, "running") == [str(first.pid).encode(), str(second.pid).encode()]
    assert ends(redis, "running") == [str(second.pid).encode()]
    job = queue(QueueName.dispatch, redis).fetch_job(job_id)
    assert job is not None
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=30)
    # retried under the queue's policy: one attempt spent, none failed
    assert job.retries_left == len(retry_policy(QueueName.dispatch).intervals) - 1
    assert not queue(QueueName.dispatch, redis).failed_job_registry.get_job_ids()


def test_a_live_worker_keeps_its_running_job(redis: Redis, workers: Workers) -> None:
    """Recovery passes while a job runs in a live worker for longer than a liveness key lives
    (the worker's thread renews it beside the job): nothing is run twice."""
    worker = workers.start("work")
    enqueue(redis, "long")
    wait_until(lambda: len(starts(redis, "long")) == 1, timeout=30)
    recovery = Recovery(redis, ALL_QUEUES)
    for _ in range(int(ALIVE_SECONDS + 2 * BEAT_SECONDS)):
        assert recovery() == 0
        time.sleep(1)
    redis.set("test:long:go", "1")
    wait_until(lambda: len(ends(redis, "long")) == 1, timeout=30)
    assert starts(redis, "long") == ends(redis, "long") == [str(worker.pid).encode()]
