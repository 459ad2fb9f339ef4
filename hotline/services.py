"""Build the shared objects of a process from settings (database, store, Redis)."""

from __future__ import annotations

from redis import Redis

from hotline.settings import Settings
from router.db import Database
from router.queues import connect
from router.store import Store


def make_store(settings: Settings) -> Store:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store(Database(settings.resolved_database_url), timezone=settings.timezone)


def make_redis(settings: Settings) -> Redis:
    return connect(settings.resolved_redis_url)
