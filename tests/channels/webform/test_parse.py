"""A validated form → Intake: citizen, consent and where the location comes from."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.webform.parse import to_intake
from channels.webform.validation import CleanForm, validate
from tickets.model import Channel, Kind, Location
from tickets.store import citizen_key

AT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PHOTO = (39.9, 116.4)


def form(**raw: str) -> CleanForm:
    checked = validate({"kind": "help", "description": "楼道灯不亮", **raw})
    assert checked.form is not None, checked.errors
    return checked.form


def test_minimal_intake() -> None:
    intake = to_intake(form(), submission_id="sid-1", received_at=AT)
    assert intake.channel is Channel.web and intake.channel_ref == "sid-1"
    assert intake.kind is Kind.help and intake.text == "楼道灯不亮"
    assert intake.location is None and intake.attachments == []
    assert intake.citizen.phone is None and not intake.citizen.consent_to_contact


def test_phone_without_consent_is_kept_but_not_consented() -> None:
    intake = to_intake(form(phone="13800138000"), submission_id="s", received_at=AT)
    assert intake.citizen.phone == "+8613800138000"
    assert not intake.citizen.consent_to_contact
    intake = to_intake(form(phone="13800138000", consent="on"), submission_id="s",
                       received_at=AT)
    assert intake.citizen.consent_to_contact and not intake.citizen.callback_requested


def test_the_callback_box_asks_for_a_call() -> None:
    intake = to_intake(form(phone="01065123456", consent="on", callback="on"),
                       submission_id="s", received_at=AT)
    assert intake.citizen.callback_requested and intake.citizen.consent_to_contact


def test_a_typed_phone_is_no_proven_sender() -> None:
    """Kept for the back office to call back, but never a key that threads or rates another
    channel's messages: anyone can type anyone's number (issue 9, item 10)."""
    intake = to_intake(form(phone="13800138000", consent="on"), submission_id="s",
                       received_at=AT)
    assert intake.citizen.phone == "+8613800138000"
    assert citizen_key(intake) is None


def test_browser_position_wins_over_photo_position() -> None:
    f = form(lat="31.2", lon="121.5", share_photo_location="on")
    intake = to_intake(f, submission_id="s", received_at=AT, photo_positions=[PHOTO])
    assert intake.location == Location(lat=31.2, lon=121.5)


def test_shared_photo_position_fills_in_when_no_other_position() -> None:
    f = form(address="幸福路12号", grid="GX-01", share_photo_location="on")
    intake = to_intake(f, submission_id="s", received_at=AT, photo_positions=[None, PHOTO])
    assert intake.location == Location(address="幸福路12号", lat=39.9, lon=116.4, grid="GX-01")


def test_photo_position_is_ignored_unless_shared() -> None:
    intake = to_intake(form(), submission_id="s", received_at=AT, photo_positions=[PHOTO])
    assert intake.location is None


def test_grid_alone_is_a_location() -> None:
    intake = to_intake(form(grid="GX-01"), submission_id="s", received_at=AT)
    assert intake.location == Location(grid="GX-01")
