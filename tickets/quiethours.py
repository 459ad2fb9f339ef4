"""Quiet hours (``HOTLINE_QUIET_HOURS``, default ``22:00-08:00`` Asia/Shanghai): no message to
a resident is sent inside them except for priority-1 matters; a message due then waits for
their end. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT = "22:00-08:00"
_SPEC = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class QuietHoursError(ValueError):
    pass


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str = "Asia/Shanghai") -> QuietHours | None:
        """``"22:00-08:00"`` → quiet from 22:00 to 08:00 local time; ``""`` → None (none)."""
        spec = spec.strip()
        if not spec:
            return None
        found = _SPEC.fullmatch(spec.replace(" ", ""))
        if found is None:
            raise QuietHoursError(f"'{spec[:40]}' is not HH:MM-HH:MM (empty for none)")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if (h1, m1) == (h2, m2):
            raise QuietHoursError("quiet hours that start when they end are ambiguous; "
                                  "leave the setting empty for none")
        return cls(time(h1, m1), time(h2, m2), ZoneInfo(timezone))

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: datetime) -> datetime:
        """The end of the quiet period ``at`` falls in (``at`` itself when it is outside)."""
        if not self.contains(at):
            return at
        local = at.astimezone(self.tz)
        end = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return end.astimezone(at.tzinfo)
