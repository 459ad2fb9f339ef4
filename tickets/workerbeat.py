"""Fewer of RQ's own writes per job: its worker heartbeat in one round trip, at most every
:data:`HEARTBEAT_EVERY` seconds, and its state written only when it changes.

RQ's work loop writes the worker's heartbeat (``HSET last_heartbeat`` and two ``EXPIRE``, three
round trips) three times per job and its state ``idle`` twice — nine of the fifteen or so
writes RQ makes per job, each waiting for Redis's fsync (the production Redis appends every
write to its file and fsyncs it before answering). Measured on the 2-core machine
(bench/results/worker_throughput.md) they were about a third of an empty job's time. The
heartbeat only keeps the worker's hash alive (its time to live is minutes:
``worker_ttl + 60``), so writing it once every few seconds loses nothing; heartbeats RQ writes
inside its own pipelines (with a job's start, and while a long job runs) are left as they are:
they cost no round trip of their own, and RQ reads their answers.
"""

from __future__ import annotations

import time

from redis.client import Pipeline
from rq import SimpleWorker

HEARTBEAT_EVERY = 5.0  # seconds between two standalone heartbeats of one worker


class QuietBookkeeping(SimpleWorker):
    """A ``SimpleWorker`` whose standalone heartbeats are throttled and pipelined and whose
    unchanged state is not written again."""

    _beat_at: float | None = None  # time.monotonic() of the last standalone heartbeat

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        at = time.monotonic()
        if timeout is None and self._beat_at is not None and at - self._beat_at < HEARTBEAT_EVERY:
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()
        self._beat_at = at

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline=pipeline)
