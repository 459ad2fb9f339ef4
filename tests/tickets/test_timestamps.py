"""The store's timestamp type binds every aware datetime in UTC (known answers)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite

from tickets.timestamps import Timestamp


def test_aware_values_are_bound_in_utc() -> None:
    local = datetime(2026, 12, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        bound = Timestamp().process_bind_param(local, dialect)
        assert bound == datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
        assert bound.tzinfo is UTC


def test_naive_and_missing_values_pass_through() -> None:
    naive = datetime(2026, 11, 30, 16, 30)
    assert Timestamp().process_bind_param(naive, sqlite.dialect()) is naive
    assert Timestamp().process_bind_param(None, sqlite.dialect()) is None


def test_every_timestamp_column_uses_the_type() -> None:
    """A plain DateTime column would bring the SQLite offset bug back for its queries."""
    from sqlalchemy import DateTime

    import console.tables  # noqa: F401  (registers the console's tables)
    from tickets.tables import metadata

    plain = [f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns
             if isinstance(c.type, DateTime)]
    assert plain == [], f"use tickets.timestamps.Timestamp() for {plain}"


def test_times_without_a_utc_equivalent_take_the_nearest_edge() -> None:
    from datetime import timedelta, timezone

    east = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    west = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    assert Timestamp().process_bind_param(east, sqlite.dialect()) == datetime.min.replace(
        tzinfo=UTC)
    assert Timestamp().process_bind_param(west, sqlite.dialect()) == datetime.max.replace(
        tzinfo=UTC)
