"""Where live partial transcripts go: a :class:`Publisher` (Redis pub/sub in production).

Each call's events are JSON objects on the channel ``hotline:transcript:<topic>`` (the call's
stable id, which :func:`transcription.live.topic_of` derives from the call's ``channel_ref``;
the AudioSocket session itself uses a random UUID per recording that is never published):
``{"type": "partial"|"segment"|"final"|"pending", "uuid", "call", "text", ...}``.

Admission to live recognition is counted in the Redis hash :data:`METRICS_KEY`
(``live_admitted``, ``live_refused``: calls since the counters were created), so a burst beyond
the live capacity shows in ``redis-cli HGETALL hotline:metrics:transcription`` as well as in
the log.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from tickets import redisclient, rediskeys

METRICS_KEY = rediskeys.TRANSCRIPTION_METRICS


def channel(call_uuid: str) -> str:
    return rediskeys.transcript(call_uuid)


class Publisher(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...


@runtime_checkable
class Counting(Protocol):
    """A publisher that also keeps counters (:data:`METRICS_KEY`)."""

    async def count(self, name: str) -> None: ...


class NullPublisher:
    """Publishes nowhere (no Redis configured)."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        return None


class RedisPublisher:
    """Redis ``PUBLISH`` of the JSON text (the console subscribes)."""

    def __init__(self, url: str) -> None:
        self._redis = redisclient.connect_async(url, redisclient.PUBLISH)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, json.dumps(message, ensure_ascii=False))

    async def count(self, name: str) -> None:
        await self._redis.hincrby(METRICS_KEY, name, 1)

    async def close(self) -> None:
        await self._redis.aclose()
