"""Monotonic counters kept in the database: the change ``seq`` and the daily ticket number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tickets.tables import counters

# YYMMDD + at least 4 digits: 10 digits on a normal day, readable over the phone; the 10,000th
# ticket of a day simply gets 11 digits. The number never runs out.
NUMBER_DIGITS = 4


def _bump(conn: Connection, name: str, by: int = 1) -> int:
    """Add ``by`` to counter ``name`` (creating it at 0) and return the new value: the caller
    owns the ``by`` values up to and including it.

    The UPDATE takes the row lock, held until the transaction ends: concurrent writers queue
    here, which is what orders commits by ``seq``.
    """
    if by < 1:
        raise ValueError("a counter only moves forward")
    stmt = (
        update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + by)
        .returning(counters.c.value)
    )
    value = conn.execute(stmt).scalar()
    if value is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(counters).values(name=name, value=0).on_conflict_do_nothing())
        value = conn.execute(stmt).scalar_one()
    return int(value)


def next_seq(conn: Connection) -> int:
    return _bump(conn, "seq")


def next_seqs(conn: Connection, n: int) -> range:
    """``n`` consecutive seqs for one transaction's ``n`` changes, in one UPDATE."""
    last = _bump(conn, "seq", n)
    return range(last - n + 1, last + 1)


def current_seq(conn: Connection) -> int:
    value = conn.execute(select(counters.c.value).where(counters.c.name == "seq")).scalar()
    return int(value or 0)


def format_number(day: str, n: int) -> str:
    """``("261130", 7)`` → ``2611300007``; ``("261130", 12345)`` → ``26113012345``."""
    return f"{day}{n:0{NUMBER_DIGITS}d}"


def next_number(conn: Connection, local_now: datetime) -> str:
    """The next ticket number for the local day of ``local_now``: YYMMDD + NNNN(N…)."""
    day = local_now.strftime("%y%m%d")
    return format_number(day, _bump(conn, f"number:{day}"))


def next_numbers(conn: Connection, local_now: datetime, n: int) -> list[str]:
    """``n`` consecutive ticket numbers of the local day of ``local_now``, in one UPDATE."""
    day = local_now.strftime("%y%m%d")
    last = _bump(conn, f"number:{day}", n)
    return [format_number(day, k) for k in range(last - n + 1, last + 1)]
