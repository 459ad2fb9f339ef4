"""``work_through_outages``: a worker that quit on a lost Redis is replaced, also while Redis is
still away (making a worker names its connection, which fails then); one asked to stop
(SIGTERM) or done with its burst is not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker

from tests.support.services import RedisServer, free_port
from tickets.worker import work_through_outages


class Scripted(SimpleWorker):
    """A real RQ worker whose ``work`` plays one outcome: raise, quit, or stop on request."""

    def __init__(self, redis: Redis, outcome: str, log: list[str]) -> None:
        super().__init__(["dispatch"], connection=redis)
        self.outcome = outcome
        self.seen = log

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self.seen.append(self.outcome)
        if self.outcome == "lost":
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1")
        if self.outcome == "stopped":
            self._shutdown_requested_date = datetime.now(UTC)
        return self.outcome == "did-work"


def test_a_worker_lost_to_redis_is_replaced_until_one_is_asked_to_stop(
        redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    outcomes = iter(["lost", "quit", "stopped", "never"])
    seen: list[str] = []
    assert not work_through_outages(lambda: Scripted(redis, next(outcomes), seen), pause=0)
    assert seen == ["lost", "quit", "stopped"]


def test_a_burst_ends_after_one_worker(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    seen: list[str] = []
    assert work_through_outages(lambda: Scripted(redis, "did-work", seen), burst=True, pause=0)
    assert seen == ["did-work"]


def test_workers_are_made_again_while_redis_is_still_away(redis_server: RedisServer) -> None:
    """The chaos run's "worker exited by itself (exit status 1)": RQ's worker quit on a
    restarting Redis and the next one could not be made before it was back."""
    away = Redis(host="127.0.0.1", port=free_port())  # nothing listens there
    redis = Redis.from_url(redis_server.url)
    seen: list[str] = []
    made = iter([lambda: SimpleWorker(["dispatch"], connection=away),
                 lambda: SimpleWorker(["dispatch"], connection=away),
                 lambda: Scripted(redis, "stopped", seen)])
    assert not work_through_outages(lambda: next(made)(), pause=0)
    assert seen == ["stopped"]
