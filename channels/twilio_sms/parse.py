"""Twilio's webhook form → :class:`SmsMessage` → :class:`~tickets.model.Intake` (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tickets.model import (
    TEXT_LIMIT,
    Attachment,
    Channel,
    Citizen,
    Intake,
    has_controls,
    without_controls,
)
from tickets.phone import DEFAULT_REGION, to_e164

MAX_MEDIA = 10  # Twilio sends at most 10 media per MMS


class BadMessage(ValueError):
    """The form is not a Twilio message webhook (answered with 400)."""


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True)
class SmsMessage:
    sid: str
    from_: str | None  # E.164, or None when the sender is not a phone number
    to: str | None
    body: str
    media: tuple[Media, ...]


def e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """``13800138000`` / ``+86 138-0013-8000`` → ``+8613800138000``; None if not a number."""
    return to_e164(raw, region)


def parse(form: Mapping[str, str]) -> SmsMessage:
    sid = form.get("MessageSid", "").strip()
    if not sid or len(sid) > 64 or has_controls(sid):
        raise BadMessage("'MessageSid' is missing: this is not a Twilio message webhook")
    try:
        count = int(form.get("NumMedia", "0") or "0")
    except ValueError:
        raise BadMessage("'NumMedia' is not a number") from None
    if not 0 <= count <= MAX_MEDIA:
        raise BadMessage(f"'NumMedia' must be between 0 and {MAX_MEDIA}")
    media = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}", "").strip()
        if not url.startswith(("https://", "http://")) or has_controls(url):
            raise BadMessage(f"'MediaUrl{i}' is missing or not an http(s) URL")
        content_type = form.get(f"MediaContentType{i}", "").strip() or "application/octet-stream"
        if has_controls(content_type):
            raise BadMessage(f"'MediaContentType{i}' is not a content type")
        media.append(Media(url, content_type[:100]))
    return SmsMessage(
        sid=sid,
        from_=e164(form.get("From", "")),
        to=e164(form.get("To", "")),
        body=without_controls(form.get("Body", "")).strip()[:TEXT_LIMIT],
        media=tuple(media),
    )


def to_intake(message: SmsMessage, received_at: datetime) -> Intake:
    return Intake(
        channel=Channel.sms,
        channel_ref=message.sid,
        received_at=received_at,
        citizen=Citizen(phone=message.from_),
        text=message.body,
        attachments=[Attachment(url=m.url, content_type=m.content_type) for m in message.media],
    )
