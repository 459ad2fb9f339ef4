"""A real RQ worker process for the job-recovery tests, and the job it runs.

``python -m tests.support.jobworker REDIS_URL work`` serves every queue with
:class:`~tickets.worker.ContextWorker` as ``hotline worker`` does (through
:func:`~tickets.worker.work_through_outages`); ``... hold`` claims one job like it, notes its
id under ``test:held`` and then hangs before starting it, to be SIGKILLed in that moment.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job as RqJob

from tickets.queues import ALL_QUEUES
from tickets.worker import ContextWorker, work_through_outages


@dataclass(frozen=True)
class Context:
    redis: Redis


def step(ctx: Context, name: str) -> None:
    """Note a start, wait until ``test:<name>:go`` exists, note an end (with the pid)."""
    pid = os.getpid()
    ctx.redis.rpush(f"test:{name}:starts", pid)
    while not ctx.redis.exists(f"test:{name}:go"):
        time.sleep(0.05)
    ctx.redis.rpush(f"test:{name}:ends", pid)


class Holding(ContextWorker):
    """Claims a job, then hangs where it would record the start."""

    def execute_job(self, job: RqJob, queue: Queue) -> None:
        self.connection.set("test:held", job.id)
        time.sleep(3600)


def main(argv: list[str]) -> int:
    url, mode = argv
    redis = Redis.from_url(url)
    context = Context(redis)
    kind: Any = Holding if mode == "hold" else ContextWorker
    ok = work_through_outages(lambda: kind(list(ALL_QUEUES), connection=redis,
                                           context=context))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
