"""Has what the relay wrote to Redis survived a failover? Asked before an outbox row is
marked as sent.

Redis replicates asynchronously: a primary that acknowledged a write and died before its
replica copied it loses that write when Sentinel promotes the replica. For the relay that
would be a job on RQ that never runs while its outbox row says it was sent. So after a batch
the relay asks the server it talks to now, in one pipeline (one connection, one server):

* ``SET`` a key (a write, after the batch's writes in this server's replication stream),
* ``WAIT 1`` — has a replica acknowledged that far? (skipped when no replica is connected:
  with none, no failover can keep anything either, and waiting would stop the relay),
* ``EXISTS`` the batch's markers — are the batch's transactions in *this* server's data? (a
  failover between the batch and this check sends the check to the new primary, where a lost
  transaction's marker is missing).

Only a batch whose markers are all present and replicated counts as sent; otherwise the rows
stay pending and the next round enqueues again what is missing (a marker that is present
keeps a job from going on RQ twice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from redis import Redis

from tickets import rediskeys

log = logging.getLogger(__name__)

WAIT_MS = 1000  # how long one batch waits for a replica's acknowledgement


def connected_replicas(redis: Redis) -> int:
    """Replicas connected to the server ``redis`` talks to (0 for a replica or a lone server)."""
    role = redis.role()
    kind = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
    return len(role[2]) if kind == "master" else 0


def confirmed(redis: Redis, markers: Sequence[str], wait_ms: int = WAIT_MS) -> bool:
    """True when every key in ``markers`` exists on the current primary and, if it has a
    replica, a replica has copied at least as far."""
    if not markers:
        return True
    replicas = connected_replicas(redis)
    with redis.pipeline(transaction=False) as pipe:
        pipe.set(rediskeys.RELAY_SYNC, str(time.time()))
        if replicas:
            pipe.wait(1, wait_ms)
        pipe.exists(*markers)
        answers = pipe.execute()
    present = int(answers[-1])
    acked = int(answers[1]) if replicas else 0
    if present != len(markers):
        log.warning("%d of %d enqueued jobs are not on the current Redis primary (a failover?); "
                    "their outbox rows stay pending", len(markers) - present, len(markers))
        return False
    if replicas and acked < 1:
        log.warning("no Redis replica acknowledged the last %d jobs within %d ms; their outbox "
                    "rows stay pending", len(markers), wait_ms)
        return False
    return True
