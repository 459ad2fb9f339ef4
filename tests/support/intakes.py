"""The one factory of test intakes (every test module builds its intakes here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickets.model import Channel, Intake, Kind

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def intake(ref: str = "m1", text: str = "楼道灯不亮", *, channel: Channel = Channel.sms,
           at: datetime | None = None, kind: Kind = Kind.help, **over: Any) -> Intake:
    """An intake from ``channel`` with ``channel_ref=ref``; keyword arguments override any
    other field (``citizen=Citizen(...)``, ``attachments=[...]``)."""
    return Intake(channel=channel, channel_ref=ref, received_at=at or datetime.now(UTC),
                  kind=kind, text=text, **over)
