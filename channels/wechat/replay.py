"""Replay protection for WeChat pushes: a signed (timestamp, nonce) is good for one body.

WeChat signs the URL's timestamp and nonce (and, in safe mode, the ciphertext) — in plaintext
mode the body is not signed at all, so a captured URL could carry any body. Within the
clock-skew window each (timestamp, nonce) is remembered with the sha256 of the first body that
used it: the same body again is WeChat retrying (answered, and made idempotent by the MsgId),
another body is a replay (refused). The memory is Redis (shared by every gateway process);
while Redis is away, a bounded in-process memory stands in.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tickets import redisclient, rediskeys

log = logging.getLogger(__name__)

LOCAL_MAX = 100_000


class ReplayGuard:
    def __init__(self, redis_url: str | None, ttl: int) -> None:
        self.ttl = max(1, ttl)
        self._redis: Redis | None = (
            redisclient.connect_async(redis_url, redisclient.REQUEST) if redis_url else None)
        self._local: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def first_use(self, timestamp: str, nonce: str, body: bytes) -> bool:
        """True for the first body seen with this (timestamp, nonce), and for that same body
        again; False for a different body (a replay)."""
        pair = hashlib.sha256(f"{timestamp}\0{nonce}".encode()).hexdigest()[:40]
        key = rediskeys.wechat_nonce(pair)
        digest = hashlib.sha256(body).hexdigest()
        if self._redis is not None:
            try:
                if await self._redis.set(key, digest, nx=True, ex=self.ttl):
                    return True
                seen = await self._redis.get(key)
                if isinstance(seen, bytes):
                    seen = seen.decode()
                return seen is None or seen == digest
            except (RedisError, OSError) as exc:
                log.warning("WeChat replay memory in Redis unavailable, using the local one: %s",
                            exc)
        return self._first_use_locally(key, digest)

    def _first_use_locally(self, key: str, digest: str) -> bool:
        now = time.monotonic()
        while self._local:
            oldest_key, (_, expires) = next(iter(self._local.items()))
            if expires > now and len(self._local) < LOCAL_MAX:
                break
            del self._local[oldest_key]
        seen = self._local.get(key)
        if seen is not None and seen[1] > now:
            return seen[0] == digest
        self._local[key] = (digest, now + self.ttl)
        return True
