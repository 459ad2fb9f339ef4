"""The lockout rule (known answers) and its rows on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console import lockout
from console.lockout import CLIENT, LOGIN, Policy, locked_until
from tickets.db import Database

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_policies() -> None:
    assert (LOGIN.failures, LOGIN.window, LOGIN.lock) == (5, timedelta(minutes=15),
                                                          timedelta(minutes=15))
    assert CLIENT.failures == 20 and CLIENT.horizon == timedelta(minutes=30)


def test_fewer_failures_than_the_limit_never_lock() -> None:
    assert locked_until([], LOGIN, at(0)) is None
    assert locked_until([at(i) for i in range(4)], LOGIN, at(4)) is None


def test_the_fifth_failure_within_the_window_locks_for_fifteen_minutes() -> None:
    failures = [at(0), at(3), at(6), at(9), at(12)]
    assert locked_until(failures, LOGIN, at(12)) == at(27)
    assert locked_until(failures, LOGIN, at(26.9)) == at(27)
    assert locked_until(failures, LOGIN, at(27)) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    failures = [at(0), at(4), at(8), at(12), at(16)]  # 16 minutes from first to fifth
    assert locked_until(failures, LOGIN, at(16)) is None


def test_exactly_the_window_still_locks_and_order_does_not_matter() -> None:
    failures = [at(15), at(0), at(10), at(5), at(7)]
    assert locked_until(failures, LOGIN, at(15)) == at(30)


def test_the_latest_qualifying_run_decides() -> None:
    failures = [at(0), at(1), at(2), at(3), at(4), at(20), at(21), at(22), at(23), at(24)]
    assert locked_until(failures, LOGIN, at(24)) == at(39)


def test_a_small_policy() -> None:
    policy = Policy(failures=2, window=timedelta(seconds=10), lock=timedelta(seconds=60))
    assert locked_until([at(0), at(0.1)], policy, at(0.1)) == at(1.1)
    assert locked_until([at(0), at(0.5)], policy, at(0.5)) is None


def test_begin_writes_attempts_and_refuses_when_locked(db: Database) -> None:
    with db.write() as conn:
        checks = [lockout.begin(conn, "alice", "c1", at(i)) for i in range(6)]
    assert all(c.attempt is not None and c.until is None for c in checks[:5])
    assert checks[5].attempt is None and checks[5].until == at(19)
    with db.write() as conn:
        assert lockout.count(conn) == 5
        lockout.succeeded(conn, "alice")
        assert lockout.count(conn) == 0
        assert lockout.begin(conn, "alice", "c1", at(6)).attempt is not None


def test_prune_keeps_what_can_still_matter(db: Database) -> None:
    with db.write() as conn:
        lockout.begin(conn, "a", "c", at(0))
        lockout.begin(conn, "b", "c", at(20))
        assert lockout.prune(conn, at(40)) == 1
        assert lockout.count(conn) == 1
