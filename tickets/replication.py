"""Has what the relay wrote to Redis survived a failover? Asked before an outbox row is
marked as sent.

Redis replicates asynchronously: a primary that acknowledged a write and died before its
replica copied it loses that write when Sentinel promotes the replica. For the relay that
would be a job on RQ that never runs while its outbox row says it was sent. So after a batch
the relay asks the server it talks to now, in one pipeline (one connection, one server):

* ``SET`` a key (a write, after the batch's writes in this server's replication stream),
* ``WAIT 1`` — has a replica acknowledged that far? When no replica is connected, behind
  Sentinel the Sentinels are asked whether they know one that is up: if so this server is
  an old primary whose replica was just promoted (Sentinel reconfigures the old primary only
  seconds later, and what it takes meanwhile is lost) and nothing counts as sent; if not,
  there is no copy anywhere to wait for and the batch counts as sent (a lone server, or the
  last one standing);
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
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tickets import rediskeys

log = logging.getLogger(__name__)

WAIT_MS = 1000  # how long one batch waits for a replica's acknowledgement


def connected_replicas(redis: Redis) -> int:
    """Replicas connected to the server ``redis`` talks to (0 for a replica or a lone server)."""
    role = redis.role()
    kind = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
    return len(role[2]) if kind == "master" else 0


def replica_expected(redis: Redis) -> bool:
    """Behind Sentinel: whether the Sentinels know a replica of the primary that is not down
    (False for a client without Sentinel). After a primary is lost this stays True until the
    Sentinels find it down (``down-after-milliseconds``): rows wait that long to count."""
    pool = redis.connection_pool
    manager = getattr(pool, "sentinel_manager", None)
    service = getattr(pool, "service_name", None)
    if manager is None or service is None:
        return False
    for sentinel in manager.sentinels:
        try:
            replicas = sentinel.sentinel_slaves(service)
        except (RedisConnectionError, RedisTimeoutError, ResponseError):
            continue
        # "disconnected" is only the Sentinel's own link (the replica being promoted shows
        # it for a moment): a replica counts until the Sentinel finds it down
        return any(not (r.get("is_sdown") or r.get("is_odown")) for r in replicas)
    raise RedisConnectionError(f"no Sentinel answers about {service!r}")


def confirmed(redis: Redis, markers: Sequence[str], wait_ms: int = WAIT_MS) -> bool:
    """True when every key in ``markers`` exists on the current primary and, if it has a
    replica, a replica has copied at least as far."""
    if not markers:
        return True
    replicas = connected_replicas(redis)
    if not replicas and replica_expected(redis):
        log.warning("the Redis primary has no replica connected while Sentinel knows one: "
                    "a failover is under way; %d outbox rows stay pending", len(markers))
        return False
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
