"""What a grid worker (网格员) reports from patrol and adds on site, worked out from a form
(pure apart from saving photos): the intake of a finding (采集) with the provenance
``grid:<cell>`` (channel ``api``, ``channel_ref`` ``grid:<cell>:<form ref>``, so sending the
form twice makes one ticket), and the on-site note with photos as an event of the events path.

Photos are checked by their first bytes (JPEG, PNG or WebP) and size before they are kept in
the media store; anything else is refused with a message naming why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from console.people import Person
from tickets import media
from tickets.events import TicketEvent
from tickets.model import Attachment, Channel, Intake, Kind, Location, without_controls

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 3
TEXT_LIMIT = 2000
PROVENANCE = "grid:"


class GridRefused(ValueError):
    """A form that cannot be taken; the message is for the grid worker (zh-CN)."""


def photo_type(data: bytes) -> str | None:
    """The image type by its magic bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def keep_photos(media_dir: Path, photos: Sequence[bytes]) -> list[Attachment]:
    """Check every photo first, then keep them (nothing kept when one is refused)."""
    given = [p for p in photos if p]
    if len(given) > MAX_PHOTOS:
        raise GridRefused(f"最多上传 {MAX_PHOTOS} 张照片")
    typed = []
    for data in given:
        if len(data) > MAX_PHOTO_BYTES:
            raise GridRefused(f"照片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
        kind = photo_type(data)
        if kind is None:
            raise GridRefused("只能上传 JPEG、PNG 或 WebP 照片")
        typed.append((data, kind))
    return [media.save_bytes(media_dir, data, kind) for data, kind in typed]


@dataclass(frozen=True)
class Finding:
    cell: str
    ref: str
    text: str
    lat: float | None = None
    lon: float | None = None


def _coordinate(text: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise GridRefused("位置不正确，请重新获取") from None
    if not low <= value <= high or value != value:
        raise GridRefused("位置不正确，请重新获取")
    return value


def finding_of(person: Person, values: dict[str, str]) -> Finding:
    cell = values.get("cell", "")
    if cell not in person.cells:
        raise GridRefused("请选择您负责的网格")
    text = without_controls(values.get("text", "")).strip()
    if not text:
        raise GridRefused("请描述发现的问题")
    if len(text) > TEXT_LIMIT:
        raise GridRefused(f"描述太长（最多 {TEXT_LIMIT} 字）")
    ref = values.get("ref", "")
    if not ref.isalnum() or len(ref) > 64:
        raise GridRefused("表单已过期，请刷新页面")
    lat = _coordinate(values.get("lat", ""), -90, 90)
    lon = _coordinate(values.get("lon", ""), -180, 180)
    if (lat is None) != (lon is None):
        lat = lon = None
    return Finding(cell, ref, text, lat, lon)


def intake_of(finding: Finding, street: str | None, community: str | None,
              photos: list[Attachment], now: datetime) -> Intake:
    return Intake(channel=Channel.api, channel_ref=f"{PROVENANCE}{finding.cell}:{finding.ref}",
                  received_at=now, kind=Kind.unknown, text=finding.text, attachments=photos,
                  location=Location(grid=finding.cell, street=street, community=community,
                                    lat=finding.lat, lon=finding.lon))


def actor_of(person: Person, cell: str) -> str:
    return f"{PROVENANCE}{cell}/{person.login}"[:100]


def on_site(person: Person, cell: str, ref: str, text: str,
            photos: list[Attachment]) -> TicketEvent:
    """The on-site note (and photos) as an event (GridRefused when it says nothing). A note
    does not conflict with other changes: no seq check; the form's ``ref`` makes a resent
    form act once."""
    words = without_controls(text).strip()
    if not words and not photos:
        raise GridRefused("请填写现场情况或上传照片")
    if len(words) > TEXT_LIMIT:
        raise GridRefused(f"内容太长（最多 {TEXT_LIMIT} 字）")
    return TicketEvent(actor=actor_of(person, cell), event_id=f"console:{ref}"[:100],
                       note=f"现场：{words}" if words else "现场照片",
                       attachments=photos)
