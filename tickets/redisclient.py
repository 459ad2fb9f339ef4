"""Redis clients: the one place they are made, with the timeouts each kind of use can afford.

Every client gives up on a dead connection after :data:`CONNECT_TIMEOUT` seconds. What one
command may take depends on who waits for it, so the caller names its budget:

* :data:`QUEUE` (10 s, health-checked) — RQ, the relay and the drains: background work that
  may wait for a slow Redis rather than fail a job;
* :data:`REQUEST` (1 s) — on the path of a provider's webhook (WeChat's replay memory): a
  resident's message must not wait on Redis;
* :data:`EVENTS` (0.5 s, never retried) — the IVR's call events: a call never waits on the
  console's board;
* :data:`PUBLISH` (5 s) — the transcriber's partial results;
* ``None`` — a pub/sub subscriber that blocks until a message comes (health-checked instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis import Redis

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis

CONNECT_TIMEOUT = 2.0
HEALTH_CHECK = 10  # seconds of silence after which a connection is pinged before use
QUEUE = 10.0
REQUEST = 1.0
EVENTS = 0.5
PUBLISH = 5.0


def connect(url: str, timeout: float = QUEUE) -> Redis:
    """A client for ``redis://``, ``rediss://`` or ``unix://`` URLs (RQ, relay, deliveries)."""
    return Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=timeout,
                          health_check_interval=HEALTH_CHECK)


def connect_async(url: str, timeout: float | None, *, retries: bool = True) -> AsyncRedis:
    """An asyncio client; ``timeout`` None for a subscriber; ``retries=False`` makes every
    operation fail at once on a broken connection instead of reconnecting and trying again."""
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    connect_timeout = min(CONNECT_TIMEOUT, timeout) if timeout is not None else CONNECT_TIMEOUT
    if not retries:
        return AsyncRedis.from_url(url, socket_connect_timeout=connect_timeout,
                                   socket_timeout=timeout, retry=Retry(NoBackoff(), 0))
    return AsyncRedis.from_url(url, socket_connect_timeout=connect_timeout,
                               socket_timeout=timeout,
                               health_check_interval=HEALTH_CHECK if timeout is None else 0)
