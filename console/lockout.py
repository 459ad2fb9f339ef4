"""Lockout after repeated failed logins, per login name and per client address.

The rule is a pure function (:func:`locked_until`): once ``failures`` attempts fail within
``window``, the key is locked for ``lock`` after the last of them. It applies to every login
name typed, existing or not, so the lockout tells nobody which names exist. The per-client
rule (more failures, any names) stops one address from probing many names.

An attempt is written down *before* its password is checked (:func:`begin`, one short write
transaction that also checks the lock), and removed again if it succeeds (:func:`succeeded`):
a burst of parallel guesses therefore counts in full instead of all passing the check
together. (On PostgreSQL two attempts in the very same instant may both pass; SQLite takes
writers one at a time.) Attempts refused because of a lock are not written down, so a lock
lasts ``lock`` and is not extended by the guesses it refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from console.tables import login_failures


@dataclass(frozen=True)
class Policy:
    failures: int
    window: timedelta
    lock: timedelta

    @property
    def horizon(self) -> timedelta:
        """How far back failures can matter."""
        return self.window + self.lock


# 5 failures within 15 minutes lock the login name for 15 minutes
LOGIN = Policy(failures=5, window=timedelta(minutes=15), lock=timedelta(minutes=15))
# 20 failures from one address within 15 minutes, whatever the names, lock that address
CLIENT = Policy(failures=20, window=timedelta(minutes=15), lock=timedelta(minutes=15))


def locked_until(failures: Sequence[datetime], policy: Policy,
                 now: datetime) -> datetime | None:
    """When the lock that ``failures`` (any order) put on their key ends, if it is still on
    at ``now``; None when the key is free."""
    times = sorted(failures)
    n = policy.failures
    until: datetime | None = None
    for i in range(n - 1, len(times)):
        if times[i] - times[i - n + 1] <= policy.window:
            end = times[i] + policy.lock
            until = end if until is None or end > until else until
    return until if until is not None and until > now else None


@dataclass(frozen=True)
class Check:
    """The outcome of :func:`begin`: ``attempt`` (the row id of the attempt now written
    down) or ``until`` (locked, nothing written)."""

    attempt: int | None
    until: datetime | None


def _times(conn: Connection, column: str, value: str, since: datetime) -> list[datetime]:
    col = login_failures.c[column]
    rows = conn.execute(select(login_failures.c.at)
                        .where(col == value, login_failures.c.at > since)).scalars().all()
    return [utc(t) for t in rows]


def utc(at: datetime) -> datetime:
    """SQLite gives naive datetimes back; every one was written in UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def begin(conn: Connection, login: str, client: str, now: datetime, *,
          login_policy: Policy = LOGIN, client_policy: Policy = CLIENT) -> Check:
    """Inside a write transaction: refuse a locked login or client, or write the attempt
    down as a failure (to be cleared by :func:`succeeded`)."""
    locks = [
        locked_until(_times(conn, "login", login, now - login_policy.horizon), login_policy, now),
        locked_until(_times(conn, "client", client, now - client_policy.horizon),
                     client_policy, now),
    ]
    until = max((u for u in locks if u is not None), default=None)
    if until is not None:
        return Check(None, until)
    attempt = conn.execute(
        insert(login_failures).values(login=login, client=client, at=now)
        .returning(login_failures.c.id)).scalar_one()
    return Check(int(attempt), None)


def succeeded(conn: Connection, login: str) -> None:
    """The login name's failures (the successful attempt's row among them) are forgotten."""
    conn.execute(delete(login_failures).where(login_failures.c.login == login))


def prune(conn: Connection, now: datetime, *, keep: timedelta | None = None) -> int:
    """Delete failures too old to matter to either policy; how many."""
    keep = keep or max(LOGIN.horizon, CLIENT.horizon)
    result = conn.execute(delete(login_failures).where(login_failures.c.at < now - keep))
    return int(result.rowcount)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(login_failures)).scalar_one())
