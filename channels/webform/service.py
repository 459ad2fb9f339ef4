"""Filing a checked web form: save its photos, then submit the intake (synchronous; the route
runs it in a thread)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from channels.webform.parse import to_intake
from channels.webform.photos import Photo
from channels.webform.validation import CleanForm
from tickets import media
from tickets.masking import mask_phone
from tickets.model import Intake
from tickets.store import Store, SubmitResult

log = logging.getLogger(__name__)


def file_report(store: Store, media_dir: Path, form: CleanForm, photos: Sequence[Photo], *,
                submission_id: str, received_at: datetime) -> SubmitResult:
    """The ticket of this form (the existing one when the same page was sent before)."""
    intake = prepare(media_dir, form, photos, submission_id=submission_id,
                     received_at=received_at)
    return submit(store, intake, form)


def prepare(media_dir: Path, form: CleanForm, photos: Sequence[Photo], *,
            submission_id: str, received_at: datetime) -> Intake:
    """The intake of this form, its photos kept in the media folder (no store work: what a
    deadline spools when the store is late)."""
    attachments = [media.save_bytes(media_dir, p.jpeg, "image/jpeg") for p in photos]
    return to_intake(form, submission_id=submission_id, received_at=received_at,
                     attachments=attachments, photo_positions=[p.gps for p in photos])


def submit(store: Store, intake: Intake, form: CleanForm) -> SubmitResult:
    result = store.submit(intake)
    log.info("web intake ticket=%s created=%s kind=%s photos=%d phone=%s grid=%s",
             result.ticket.number, result.created, intake.kind.value, len(intake.attachments),
             mask_phone(intake.citizen.phone), form.grid or "-")
    return result
