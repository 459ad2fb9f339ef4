"""Per-sender rate limits shared by every gateway process (the ``limits`` library, moving
windows kept in Redis).

A bucket is one kind of sender — ``sender`` (an SMS number or a WeChat openid), ``web`` (the
form's client address), ``api`` (an API key) — with limits such as ``10/minute;60/hour``.
Senders are stored hashed, never as phone numbers or openids. If Redis cannot be reached the
limiter lets the request through (and says so in the log): refusing residents because a
counter is away would stop the hotline, which is worse than a flood.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisSentinelStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from tickets import redistarget

log = logging.getLogger(__name__)

WARN_EVERY = 60.0  # seconds between two warnings about an unreachable Redis


def parse_rules(text: str) -> list[RateLimitItem]:
    """``"10/minute;60/hour"`` → limits; ValueError with the reason when malformed."""
    if not text.strip():
        return []
    try:
        return list(parse_many(text))
    except ValueError as exc:
        raise ValueError(f"not a rate limit like '10/minute;60/hour': {text!r} ({exc})") from None


def storage_uri(redis_url: str | None) -> str:
    """The ``limits`` storage URI for a redis-py URL (``memory://`` without one); behind
    Sentinel the passwords are left out (:func:`_storage` passes them)."""
    if not redis_url:
        return "memory://"
    if redistarget.is_sentinel(redis_url):
        target = redistarget.parse(redis_url)
        return "async+" + redistarget.SentinelTarget(target.sentinels, target.service).url()
    for plain, wrapped in (("unix://", "async+redis+unix://"), ("rediss://", "async+rediss://"),
                           ("redis://", "async+redis://")):
        if redis_url.startswith(plain):
            return wrapped + redis_url[len(plain):]
    raise ValueError(f"unsupported Redis URL for rate limits: {redis_url.split(':', 1)[0]}")


def _storage(redis_url: str | None) -> Storage:
    uri = storage_uri(redis_url)
    if uri == "memory://":
        return MemoryStorage()
    if redis_url and redistarget.is_sentinel(redis_url):
        target = redistarget.parse(redis_url)
        asking: dict[str, float | str | bool] = {"socket_connect_timeout": 1, "socket_timeout": 1}
        if target.sentinel_password:
            asking["password"] = target.sentinel_password
        auth = {"password": target.password} if target.password else {}
        # counters are read from the primary too: a replica lags behind the window
        return RedisSentinelStorage(uri, wrap_exceptions=True, implementation="redispy",
                                    use_replicas=False, sentinel_kwargs=asking,
                                    socket_connect_timeout=1, socket_timeout=1, **auth)
    return RedisStorage(uri, wrap_exceptions=True, implementation="redispy",
                        socket_connect_timeout=1, socket_timeout=1)


class RateLimiter:
    def __init__(self, rules: Mapping[str, str], redis_url: str | None = None,
                 *, enabled: bool = True) -> None:
        self.rules = {bucket: parse_rules(text) for bucket, text in rules.items()}
        self.enabled = enabled
        self._strategy = MovingWindowRateLimiter(_storage(redis_url))
        self._warned_at = 0.0

    async def aclose(self) -> None:
        """Close the connections to the shared store (app shutdown)."""
        storage = self._strategy.storage
        if isinstance(storage, RedisStorage):
            client = getattr(storage.bridge, "storage", None)  # redis.asyncio.Redis
            if client is not None:
                await client.aclose()

    async def allow(self, bucket: str, sender: str) -> bool:
        """Count one request of ``sender`` in ``bucket``; False when it is over a limit."""
        items = self.rules.get(bucket, [])
        if not self.enabled or not items or not sender:
            return True
        who = hashlib.sha256(f"{bucket}\0{sender}".encode()).hexdigest()[:32]
        try:
            for item in items:
                if not await self._strategy.hit(item, "hotline", bucket, who):
                    return False
        except (StorageError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning("rate limits are not enforced: their store does not answer (%s)",
                            exc)
        return True
