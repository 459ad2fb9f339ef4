"""Taking a job off RQ without a moment in which it is nowhere (issue 22).

RQ dequeues from several queues with ``BLPOP``: between Redis popping the job id and the
worker writing its execution into the started registry, the job is in no list, and a worker
SIGKILLed in that moment loses it (RQ's maintenance recovers only the ``BLMOVE`` intermediate
list it uses for one-queue workers). :class:`ClaimingQueue` takes the job with one Lua script
that moves it from the first non-empty queue, in the worker's order, onto that queue's RQ
intermediate list, so a claimed job is always in some list; the worker removes it from there
when it records the job as started (:class:`tickets.worker.ContextWorker`), and
:mod:`tickets.jobrecovery` puts a job its worker died holding back at the head of its queue.

Redis cannot block on several lists and move, so an idle worker asks again every
:data:`POLL_SECONDS` (one script call; the cost is that latency on an idle queue).
"""

from __future__ import annotations

import time
from typing import Any, cast

from redis import Redis
from rq import Queue
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.serializers import Serializer
from rq.timeouts import BaseDeathPenalty

POLL_SECONDS = 0.05

# KEYS: the queue keys in order. Returns {queue key, job id} or nil.
_CLAIM = """
for _, key in ipairs(KEYS) do
  local id = redis.call('LMOVE', key, key .. ':intermediate', 'LEFT', 'RIGHT')
  if id then return {key, id} end
end
return nil
"""


def claim(connection: Redis, queue_keys: list[str]) -> tuple[str, str] | None:
    """Move the first job of the first non-empty queue onto its intermediate list."""
    answer = cast(Any, connection.register_script(_CLAIM)(keys=queue_keys))
    if not answer:
        return None
    key, job_id = answer
    return _text(key), _text(job_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ClaimingQueue(Queue):
    """An RQ queue class whose :meth:`dequeue_any` claims (moves) instead of popping."""

    @classmethod
    def dequeue_any(
        cls,
        queues: Any,
        timeout: int | None,
        connection: Redis,
        job_class: type[Job] | None = None,
        serializer: Serializer | str | None = None,
        death_penalty_class: type[BaseDeathPenalty] | None = None,
    ) -> tuple[Job, Queue] | None:
        keys = [q.key for q in queues]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            claimed = claim(connection, keys)
            if claimed is None:
                if deadline is None:
                    return None
                if time.monotonic() >= deadline:
                    raise DequeueTimeout(timeout, keys)
                time.sleep(POLL_SECONDS)
                continue
            queue_key, job_id = claimed
            fetched = cls._fetch_dequeued_job(
                connection, queue_key, job_id, job_class=job_class, serializer=serializer,
                death_penalty_class=death_penalty_class)
            if fetched is None:  # the job's hash is gone (deleted): nothing to run
                IntermediateQueue(queue_key, connection).remove(job_id)
                continue
            return fetched
