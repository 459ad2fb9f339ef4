"""Fixtures of the console's tests: the people store and sessions over SQLite and PostgreSQL,
cheap argon2 parameters (the default ones take ~100 ms a hash), and a clock tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from console.config import ConsoleConfig
from console.passwords import Passwords
from console.people import People, Person, Role
from console.sessions import Sessions
from tests.support.templates import migrated_database as migrated_database_at
from tickets.db import Database

SECRET = "console-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery"


class Clock:
    """The time the stores see; tests move it forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fast_passwords(time_cost: int = 1) -> Passwords:
    return Passwords(PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(database_url: str, migrated_database: bool) -> Iterator[Database]:
    database = migrated_database_at(database_url)
    yield database
    database.dispose()


@pytest.fixture
def people(db: Database, clock: Clock) -> People:
    return People(db, fast_passwords(), clock=clock)


@pytest.fixture
def config() -> ConsoleConfig:
    return ConsoleConfig(secret=SECRET, sip_ws="wss://console.example/ws",
                         idle=timedelta(minutes=30), lifetime=timedelta(hours=8))


@pytest.fixture
def sessions(db: Database, config: ConsoleConfig, clock: Clock) -> Sessions:
    return Sessions(db, config, clock=clock)


@pytest.fixture
def alice(people: People) -> Person:
    return people.add("alice", "张三", Role.operator, PASSWORD)
