"""Where live partial transcripts go: a :class:`Publisher` (Redis pub/sub in production).

Each call's events are JSON objects on the channel ``hotline:transcript:<topic>`` (the call's
stable id, which :func:`transcription.live.topic_of` derives from the call's ``channel_ref``;
the AudioSocket session itself uses a random UUID per recording that is never published):
``{"type": "partial"|"segment"|"final"|"pending", "uuid", "call", "text", ...}``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

CHANNEL_PREFIX = "hotline:transcript:"


def channel(call_uuid: str) -> str:
    return CHANNEL_PREFIX + call_uuid


class Publisher(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...


class NullPublisher:
    """Publishes nowhere (no Redis configured)."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        return None


class RedisPublisher:
    """Redis ``PUBLISH`` of the JSON text (the console subscribes)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, json.dumps(message, ensure_ascii=False))

    async def close(self) -> None:
        await self._redis.aclose()
