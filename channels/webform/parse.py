"""A validated web form (plus its saved photos) → the :class:`Intake` the router stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from channels.webform.validation import CleanForm
from tickets.model import Attachment, Channel, Citizen, Intake, Location


def location(form: CleanForm, photo_positions: Sequence[tuple[float, float] | None]) -> (
        Location | None):
    """The place of the request: the browser's position, else the first shared photo position."""
    lat, lon = form.lat, form.lon
    if lat is None or lon is None:
        shared = next((p for p in photo_positions if p is not None), None)
        if form.share_photo_location and shared is not None:
            lat, lon = shared
    if form.address is None and lat is None and form.grid is None:
        return None
    return Location(address=form.address, lat=lat, lon=lon, grid=form.grid)


def to_intake(
    form: CleanForm,
    *,
    submission_id: str,
    received_at: datetime,
    attachments: Sequence[Attachment] = (),
    photo_positions: Sequence[tuple[float, float] | None] = (),
) -> Intake:
    return Intake(
        channel=Channel.web,
        channel_ref=submission_id,
        received_at=received_at,
        citizen=Citizen(phone=form.phone, name=form.name,
                        consent_to_contact=form.consent and form.phone is not None,
                        callback_requested=form.callback and form.consent
                        and form.phone is not None),
        kind=form.kind,
        text=form.description,
        attachments=list(attachments),
        location=location(form, photo_positions),
    )
