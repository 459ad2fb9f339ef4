"""A WeChat push (plaintext XML, already checked by :mod:`xmlsafe`) → what it asks of us.

wechatpy's :func:`~wechatpy.parse_message` builds the message object; this module maps it to
one of :data:`Inbound`: a :class:`Report` (anything a resident sends becomes or joins a
ticket), or an event (subscribe, LOCATION, CLICK) that changes no ticket. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from wechatpy import parse_message

from channels.wechat.xmlsafe import BadXml
from tickets.model import (
    TEXT_LIMIT,
    Attachment,
    Channel,
    Citizen,
    Intake,
    Location,
    Transcript,
)

MEDIA_PREFIX = "wechat-media:"  # a MediaId kept as an attachment URL (fetching needs a token)
RECOGNITION_ENGINE = "wechat"


@dataclass(frozen=True)
class Report:
    account: str  # ToUserName: the official account
    openid: str  # FromUserName: the resident
    intake: Intake


@dataclass(frozen=True)
class Subscribe:
    account: str
    openid: str


@dataclass(frozen=True)
class LocationUpdate:
    account: str
    openid: str
    lat: float
    lon: float
    precision: float


@dataclass(frozen=True)
class MenuClick:
    account: str
    openid: str
    key: str


@dataclass(frozen=True)
class Ignored:
    """An event that needs no answer (unsubscribe, VIEW, template job finished, …)."""

    account: str
    openid: str
    event: str


Inbound = Report | Subscribe | LocationUpdate | MenuClick | Ignored


def _media(media_id: str | None, content_type: str) -> list[Attachment]:
    return [Attachment(url=MEDIA_PREFIX + media_id, content_type=content_type)] if media_id else []


def _content(msg: Any, kind: str) -> tuple[str, list[Attachment], Location | None,
                                             Transcript | None]:
    """(text, attachments, location, transcript) of a resident's message of type ``kind``."""
    if kind == "text":
        return msg.content or "", [], None, None
    if kind == "voice":
        recognition = (msg.recognition or "").strip()
        fmt = (msg.format or "amr").lower()
        transcript = (Transcript(text=recognition, engine=RECOGNITION_ENGINE, model="recognition")
                      if recognition else None)
        return recognition, _media(msg.media_id, f"audio/{fmt}"), None, transcript
    if kind == "image":
        if msg.image:
            return "", [Attachment(url=msg.image, content_type="image/jpeg")], None, None
        return "", _media(msg.media_id, "image/jpeg"), None, None
    if kind == "location":
        label = (msg.label or "").strip() or None
        where = Location(lat=_finite(msg.location_x), lon=_finite(msg.location_y),
                         address=label)
        return label or "", [], where, None
    if kind == "link":
        parts = (msg.title, msg.description, msg.url)
        return "\n".join(p for p in parts if p), [], None, None
    if kind in ("video", "shortvideo"):
        return "", _media(msg.media_id, "video/mp4"), None, None
    return f"[未支持的消息类型：{kind}]", [], None, None


MAX_CREATE_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


def _received_at(create_time: str) -> datetime:
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
    if not (create_time.isascii() and create_time.isdigit()) or len(create_time) > 12:
        raise BadXml("'CreateTime' is missing or not a number")
    seconds = int(create_time)
    if seconds > MAX_CREATE_TIME:
        raise BadXml("'CreateTime' is past the year 9999")
    return datetime.fromtimestamp(seconds, UTC)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def event_ref(openid: str, create_time: str, msg_type: str) -> str:
    """The ``channel_ref`` of a push without a MsgId: stable for WeChat's retries (same
    sender, time and type) and free of the openid itself (refs appear in logs and URLs)."""
    digest = hashlib.sha256(f"{openid}:{create_time}:{msg_type}".encode()).hexdigest()
    return f"{msg_type[:20]}:{digest[:32]}"


def parse(xml: bytes, fields: dict[str, str]) -> Inbound:
    """Map a checked plaintext push to :data:`Inbound`; :class:`BadXml` if it is not one."""
    account, openid = fields.get("ToUserName", ""), fields.get("FromUserName", "")
    msg_type = fields.get("MsgType", "").lower()
    if not account or not openid or not msg_type:
        raise BadXml("a WeChat message needs ToUserName, FromUserName and MsgType")
    if len(openid) > 128 or len(account) > 128:
        raise BadXml("FromUserName/ToUserName longer than 128 characters")
    received_at = _received_at(fields.get("CreateTime", ""))
    try:
        msg = parse_message(xml.decode("utf-8"))
    except Exception as exc:  # xmltodict/wechatpy on a shape they do not expect
        raise BadXml(f"not a WeChat message: {type(exc).__name__}") from None
    if msg_type == "event":
        event = fields.get("Event", "").lower()
        if event in ("subscribe", "subscribe_scan"):
            return Subscribe(account, openid)
        if event == "location":
            try:
                lat, lon = _finite(fields["Latitude"]), _finite(fields["Longitude"])
                precision = _finite(fields.get("Precision") or "0")
            except (KeyError, ValueError, OverflowError):
                raise BadXml("LOCATION event without numeric Latitude/Longitude") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise BadXml("LOCATION event outside valid coordinates")
            return LocationUpdate(account, openid, lat, lon, precision)
        if event == "click":
            return MenuClick(account, openid, fields.get("EventKey", ""))
        return Ignored(account, openid, event or "unknown")
    msg_id = fields.get("MsgId", "")
    ref = msg_id if msg_id.isdigit() and len(msg_id) <= 64 else event_ref(
        openid, fields["CreateTime"], msg_type)
    try:
        text, attachments, location, transcript = _content(msg, msg_type)
        intake = Intake(
            channel=Channel.wechat,
            channel_ref=ref[:200],
            received_at=received_at,
            citizen=Citizen(wechat_openid=openid),
            text=text.strip()[:TEXT_LIMIT],
            transcript=transcript,
            attachments=attachments,
            location=location,
        )
    except (ValidationError, ValueError, TypeError, OverflowError) as exc:
        raise BadXml(f"invalid {msg_type} message: {exc}") from None
    return Report(account, openid, intake)
