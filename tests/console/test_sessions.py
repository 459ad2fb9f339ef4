"""Console sessions on SQLite and PostgreSQL: only a hash stored, signed cookies, idle and
absolute limits, logout, disabled people."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from console import csrf
from console.config import ConsoleConfig
from console.people import People, Person
from console.sessions import TOUCH_EVERY, Sessions
from console.tables import console_sessions
from tests.console.conftest import SECRET, Clock
from tickets.db import Database


def test_only_a_hash_of_the_token_is_stored(sessions: Sessions, alice: Person,
                                            db: Database) -> None:
    session = sessions.start(alice, "10.0.0.1")
    with db.read() as conn:
        row = conn.execute(select(console_sessions)).one()
    assert row.token_hash == hashlib.sha256(session.token.encode()).hexdigest()
    assert session.token not in str(tuple(row))
    assert row.client == "10.0.0.1" and row.person_id == alice.id
    assert len(session.token) >= 40
    assert session.csrf_token == csrf.for_session(SECRET, session.token)
    assert "token" not in repr(session).replace("csrf_token", "")


def test_find_returns_the_live_session(sessions: Sessions, alice: Person) -> None:
    session = sessions.start(alice)
    found = sessions.find(session.token)
    assert found is not None
    assert found.person == alice and found.csrf_token == session.csrf_token
    assert found.expires_at == session.expires_at
    assert sessions.find("not-a-token") is None


def test_idle_sessions_end(sessions: Sessions, alice: Person, clock: Clock) -> None:
    session = sessions.start(alice)
    clock.advance(minutes=29)
    assert sessions.find(session.token) is not None  # and seen again now
    clock.advance(minutes=29)
    assert sessions.find(session.token) is not None
    clock.advance(minutes=30)
    assert sessions.find(session.token) is None
    clock.advance(seconds=-3600)
    assert sessions.find(session.token) is None  # it was deleted, not just refused


def test_last_seen_is_written_at_most_once_a_minute(sessions: Sessions, alice: Person,
                                                    clock: Clock, db: Database) -> None:
    session = sessions.start(alice)
    start = clock.now

    def last_seen() -> object:
        with db.read() as conn:
            value = conn.execute(select(console_sessions.c.last_seen_at)).scalar_one()
        return value.replace(tzinfo=None)

    clock.advance(seconds=TOUCH_EVERY.total_seconds() / 2)
    sessions.find(session.token)
    assert last_seen() == start.replace(tzinfo=None)
    clock.advance(seconds=TOUCH_EVERY.total_seconds())
    sessions.find(session.token)
    assert last_seen() == clock.now.replace(tzinfo=None)


def test_sessions_end_at_their_absolute_limit(sessions: Sessions, alice: Person,
                                              clock: Clock) -> None:
    session = sessions.start(alice)
    while clock.now + timedelta(minutes=29) < session.expires_at:  # busy all day: never idle
        clock.advance(minutes=29)
        assert sessions.find(session.token) is not None
    clock.now = session.expires_at
    assert sessions.find(session.token) is None


def test_logout_and_end_all(sessions: Sessions, alice: Person, people: People) -> None:
    first, second = sessions.start(alice), sessions.start(alice)
    bob = people.add("bob", "李四", alice.role, "bob's long password")
    other = sessions.start(bob)
    sessions.end(first.token)
    assert sessions.find(first.token) is None
    assert sessions.find(second.token) is not None
    assert sessions.end_all(alice.id) == 1
    assert sessions.find(second.token) is None
    assert sessions.find(other.token) is not None


def test_a_disabled_person_has_no_session(sessions: Sessions, alice: Person,
                                          people: People) -> None:
    session = sessions.start(alice)
    people.disable("alice")
    assert sessions.find(session.token) is None


def test_sweep_deletes_ended_sessions(sessions: Sessions, alice: Person, clock: Clock) -> None:
    sessions.start(alice)
    clock.advance(minutes=10)
    live = sessions.start(alice)
    clock.advance(minutes=25)
    assert sessions.sweep() == 1
    assert sessions.find(live.token) is not None


def test_cookies_are_signed(sessions: Sessions, alice: Person, db: Database,
                            clock: Clock) -> None:
    session = sessions.start(alice)
    cookie = sessions.cookie_value(session)
    assert session.token not in cookie or "." in cookie
    assert sessions.token_of(cookie) == session.token
    assert sessions.token_of(cookie[:-2] + "xx") is None
    assert sessions.token_of(session.token) is None  # a bare token is not a cookie
    assert sessions.token_of("") is None and sessions.token_of(None) is None
    other = Sessions(db, ConsoleConfig(secret="another-secret-0123456789abcdefgh"),
                     clock=clock)
    assert other.token_of(cookie) is None
