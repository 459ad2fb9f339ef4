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

A ``redis+sentinel://`` URL (:mod:`tickets.redistarget`, built from
``HOTLINE_REDIS_SENTINELS``) gives clients of redis-py's Sentinel support (``master_for``): each
new connection asks the Sentinels where the primary is, and a connection to a primary that was
demoted or died is dropped, so after a failover the next command goes to the new primary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redis import Redis
from redis.sentinel import Sentinel

from tickets import redistarget

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis

CONNECT_TIMEOUT = 2.0
HEALTH_CHECK = 10  # seconds of silence after which a connection is pinged before use
QUEUE = 10.0
REQUEST = 1.0
EVENTS = 0.5
PUBLISH = 5.0


def _sentinel_kwargs(target: redistarget.SentinelTarget) -> dict[str, Any]:
    """How the Sentinels themselves are asked (quickly: several are tried in turn)."""
    kwargs: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT,
                              "socket_timeout": CONNECT_TIMEOUT}
    if target.sentinel_password:
        kwargs["password"] = target.sentinel_password
    return kwargs


def connect(url: str, timeout: float = QUEUE) -> Redis:
    """A client for ``redis://``, ``rediss://``, ``unix://`` or ``redis+sentinel://`` URLs
    (RQ, relay, deliveries)."""
    if redistarget.is_sentinel(url):
        target = redistarget.parse(url)
        sentinel = Sentinel(target.sentinels, sentinel_kwargs=_sentinel_kwargs(target))
        from tickets.sentinelclients import SentinelPrimary, attach

        client: Redis = sentinel.master_for(
            target.service, redis_class=SentinelPrimary, socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=timeout, health_check_interval=HEALTH_CHECK, password=target.password)
        attach(client, sentinel.sentinels)
        return client
    return Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=timeout,
                          health_check_interval=HEALTH_CHECK)


def connect_async(url: str, timeout: float | None, *, retries: bool = True) -> AsyncRedis:
    """An asyncio client; ``timeout`` None for a subscriber; ``retries=False`` makes every
    operation fail at once on a broken connection instead of reconnecting and trying again."""
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    connect_timeout = min(CONNECT_TIMEOUT, timeout) if timeout is not None else CONNECT_TIMEOUT
    kwargs: dict[str, Any] = {"socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
    if retries:
        kwargs["health_check_interval"] = HEALTH_CHECK if timeout is None else 0
    else:
        kwargs["retry"] = Retry(NoBackoff(), 0)
    if redistarget.is_sentinel(url):
        from redis.asyncio.sentinel import Sentinel as AsyncSentinel

        from tickets.sentinelclients import AsyncSentinelPrimary, attach

        target = redistarget.parse(url)
        sentinel = AsyncSentinel(target.sentinels, sentinel_kwargs=_sentinel_kwargs(target))
        primary: AsyncRedis = sentinel.master_for(target.service, password=target.password,
                                                  redis_class=AsyncSentinelPrimary, **kwargs)
        attach(primary, sentinel.sentinels)
        return primary
    return AsyncRedis.from_url(url, **kwargs)
