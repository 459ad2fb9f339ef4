"""Jobs whose worker died holding them run again within seconds, not after RQ's timeout.

A worker holds a job in one of two places (:mod:`tickets.jobclaim`, :mod:`tickets.worker`):

- claimed, not yet started: the job id is on its queue's intermediate list and in no started
  registry. A worker records the start within milliseconds, so an id seen there on two passes
  in a row, still without an execution, was left by a dead worker: it goes back to the head of
  its queue (one Lua script: two relays cannot both put it back).
- started: an execution in the queue's started registry. RQ gives a ``SimpleWorker``'s
  execution the job's timeout plus a minute (11 minutes here) before its maintenance calls it
  abandoned. Every worker keeps a key alive every few seconds (:class:`Liveness`); an
  execution whose worker's key has expired is handed to RQ's own handling of abandoned jobs
  at once (:meth:`rq.registry.StartedJobRegistry.cleanup`), which retries it under the
  queue's retry policy — spending one attempt, so a job that kills every worker that runs it
  still ends in the failed registry — or, with no attempt left, fails it. The retry goes to
  the head of its queue at once rather than after the policy's interval: the RQ scheduler
  that would enqueue it may have died with the worker, and its lock outlives it by a minute.

Running a job again is safe: every job is idempotent (:mod:`tickets.jobs`), deliveries and
notifications claim what they send. :class:`Recovery` is run by the relay every few seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.executions import Execution
from rq.registry import StartedJobRegistry

from tickets import rediskeys
from tickets.queues import QueueName, queue

log = logging.getLogger(__name__)

ALIVE_SECONDS = 15  # a worker whose key is older than this is dead
BEAT_SECONDS = 3.0  # how often a live worker renews it

# KEYS: queue key, its intermediate list, its started registry; ARGV: job id.
# Puts the job back at the head of its queue if it is still on the intermediate list and has
# no execution in the started registry; returns 1 if it did.
_REQUEUE = """
local id = ARGV[1]
for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if string.sub(member, 1, string.len(id) + 1) == id .. ':' then return 0 end
end
if redis.call('LREM', KEYS[2], 0, id) == 0 then return 0 end
redis.call('LPUSH', KEYS[1], id)
return 1
"""


class Liveness:
    """A thread renewing ``hotline:worker:alive:<name>`` while the worker's process lives (it
    runs beside a job that holds the main thread)."""

    def __init__(self, redis: Redis, worker_name: str) -> None:
        self.redis = redis
        self.key = rediskeys.worker_alive(worker_name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness", daemon=True)

    def start(self) -> None:
        self._beat()
        self._thread.start()

    def _beat(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # Redis is away: the worker waits
            self.redis.set(self.key, "1", ex=ALIVE_SECONDS)

    def _run(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=BEAT_SECONDS + 1)
        with contextlib.suppress(RedisError, OSError):
            self.redis.delete(self.key)


class Recovery:
    """One pass per call (the relay's frequent check); remembers the claimed ids it saw."""

    def __init__(self, redis: Redis, queues: Sequence[QueueName]) -> None:
        self.redis = redis
        self.queues = list(queues)
        self._requeue = redis.register_script(_REQUEUE)
        self._seen: set[tuple[str, str]] = set()

    def __call__(self, _now: datetime | None = None) -> int:
        return self.requeue_claimed() + self.release_abandoned()

    def requeue_claimed(self) -> int:
        """Claimed jobs seen on the previous pass too, never started: back to their queue."""
        seen: set[tuple[str, str]] = set()
        moved = 0
        for name in self.queues:
            q = queue(name, self.redis)
            intermediate = q.intermediate_queue_key
            ids = [_text(i) for i in cast(list[Any], self.redis.lrange(intermediate, 0, -1))]
            for job_id in ids:
                if (q.key, job_id) not in self._seen:
                    seen.add((q.key, job_id))
                    continue
                keys = [q.key, intermediate, q.started_job_registry.key]
                if self._requeue(keys=keys, args=[job_id]):
                    log.warning("job %s on %s was taken by a worker that died before "
                                "starting it; it is queued again", job_id, name)
                    moved += 1
        self._seen = seen
        return moved

    def release_abandoned(self) -> int:
        """Executions of dead workers: to RQ's abandoned-job handling (retry or fail) now."""
        released = 0
        for name in self.queues:
            q = queue(name, self.redis)
            registry = StartedJobRegistry(name=q.name, connection=self.redis,
                                          job_class=q.job_class, serializer=q.serializer)
            dead: list[str] = []
            for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
                worker = self._worker_of(execution_id, job_id)
                if worker and not self.redis.exists(rediskeys.worker_alive(worker)):
                    dead.append(f"{job_id}:{execution_id}")
            if not dead:
                continue
            # expired now: RQ's cleanup takes them as it would after their timeout
            self.redis.zadd(registry.key, dict.fromkeys(dead, 0), xx=True)
            registry.cleanup()
            for member in dead:
                job_id = member.split(":")[0]
                again = self._now_not_later(q, job_id)
                log.warning("job %s on %s was running in a worker that died; %s", job_id, name,
                            "it is queued again" if again else "RQ's retry policy takes it")
            released += len(dead)
        return released

    def _now_not_later(self, q: Queue, job_id: str) -> bool:
        """A retry RQ scheduled after its interval goes to the head of the queue now: the
        scheduler that would enqueue it may have died with the worker (its lock outlives it by
        a minute)."""
        if not self.redis.zrem(q.scheduled_job_registry.key, job_id):
            return False  # failed (no attempt left), or already enqueued
        job = q.fetch_job(job_id)
        if job is None:
            return False
        q.enqueue_job(job, at_front=True)
        return True

    def _worker_of(self, execution_id: str, job_id: str) -> str:
        """The name of the worker running an execution ('' if unknown: left to RQ)."""
        execution = Execution(execution_id, job_id, connection=self.redis)
        name = self.redis.hget(execution.key, "worker_name")
        return _text(name) if name else ""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
