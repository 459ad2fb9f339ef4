"""RQ queues of the gateway: JSON-serialized jobs named by dotted path."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

DISPATCH = "dispatch"
TRANSCRIBE = "transcribe"
MEDIA = "media"
ALL_QUEUES = (DISPATCH, TRANSCRIBE, MEDIA)


def connect(url: str) -> Redis:
    """A Redis client for ``redis://``, ``rediss://`` or ``unix://`` URLs."""
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=10
    )


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)
