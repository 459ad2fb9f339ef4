"""The RQ queues of the gateway: their names (the one place they are spelled) and the retry
policy of each (Redis clients: :mod:`tickets.redisclient`). Jobs are JSON-serialized and
named by dotted path."""

from __future__ import annotations

from enum import StrEnum

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer


class QueueName(StrEnum):
    dispatch = "dispatch"  # register, classify, locate, route, deliver
    transcribe = "transcribe"  # batch speech recognition (CPU heavy: its own workers)
    media = "media"  # fetching attachments from providers
    deliver = "deliver"  # sending tickets to their destinations (webhooks, Redis streams)
    callback = "callback"  # the outbound verification call (回访) placed through AMI
    notify = "notify"  # messages to residents on their own channel (SMS, WeChat)


ALL_QUEUES: tuple[QueueName, ...] = tuple(QueueName)

# Seconds between the attempts of a job that failed; after the last one the job stays in the
# queue's failed registry (``hotline jobs failed``) until ``hotline jobs retry``.
RETRY_INTERVALS: dict[QueueName, tuple[int, ...]] = {
    QueueName.dispatch: (5, 30, 120, 600, 1800),
    QueueName.transcribe: (30, 300, 1800),
    QueueName.media: (10, 60, 300, 1800, 3600),
    # a delivery job drains one destination in order and schedules its own next attempt;
    # these retries only cover a crash of the job itself
    QueueName.deliver: (5, 30, 120),
    # a callback job plans its own next attempt (HOTLINE_CALLBACK_INTERVAL); these retries only
    # cover a crash of the job itself
    QueueName.callback: (30, 300),
    # a notification job schedules its own retries (tickets.notifications.RETRY_SECONDS);
    # these only cover a crash of the job itself, which never resends a claimed message
    QueueName.notify: (5, 30, 120),
}
JOB_TIMEOUT = 600  # seconds a job may run
FAILED_TTL = 30 * 24 * 3600  # failed jobs are kept this long for inspection and retry


def retry_policy(name: QueueName) -> Retry:
    intervals = list(RETRY_INTERVALS[name])
    return Retry(max=len(intervals), interval=intervals)


def queue(name: QueueName | str, connection: Redis) -> Queue:
    return Queue(str(name), connection=connection, serializer=JSONSerializer)
