"""Filing a checked form: photos saved content-addressed, the intake submitted once per page
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from channels.webform.photos import check_photo
from channels.webform.service import file_report
from channels.webform.validation import CleanForm, validate
from tests.channels.webform import images
from tickets.model import Channel
from tickets.store import Store


def form(**raw: str) -> CleanForm:
    checked = validate({"kind": "complaint", "description": "井盖丢了", **raw}, photo_count=1)
    assert checked.form is not None, checked.errors
    return checked.form


def test_a_page_is_filed_once_with_its_photos(store: Store, tmp_path: Path) -> None:
    media = tmp_path / "media"
    photo = check_photo(images.jpeg(gps=images.GPS_BEIJING), max_bytes=1 << 20,
                        keep_location=True)
    now = datetime.now(UTC)
    first = file_report(store, media, form(share_photo_location="on", phone="13800138000"),
                        [photo], submission_id="s" * 22, received_at=now)
    assert first.created
    ticket = first.ticket
    assert ticket.channel is Channel.web and ticket.channel_ref == "s" * 22
    assert ticket.location is not None
    assert (ticket.location.lat, ticket.location.lon) == images.BEIJING
    [attachment] = ticket.attachments
    [saved] = media.iterdir()
    assert attachment.url.endswith(saved.name) and saved.read_bytes() == photo.jpeg

    again = file_report(store, media, form(), [photo], submission_id="s" * 22,
                        received_at=now)
    assert not again.created and again.ticket.id == ticket.id
    assert len(store.feed(0, 10)) == 1 and len(list(media.iterdir())) == 1
