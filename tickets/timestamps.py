"""The store's timestamp column type: every aware datetime is bound in UTC.

SQLite keeps a datetime as text without its offset, so a bound value in another zone (the
local midnight that starts a supervision period, say) would be compared as if it were UTC —
eight hours off in Beijing. Binding in UTC makes every comparison right on SQLite and is a
no-op for PostgreSQL's ``timestamptz``. Naive values are taken to be UTC already (what the
store writes). A time with no UTC equivalent (a query's bound of year 1 east of Greenwich) is
bound as the nearest representable instant; intakes refuse such times before they get here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class Timestamp(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            try:
                return value.astimezone(UTC)
            except OverflowError:  # year 1 east of Greenwich, 9999 west: the nearest edge
                edge = datetime.min if value.year == 1 else datetime.max
                return edge.replace(tzinfo=UTC)
        return value
