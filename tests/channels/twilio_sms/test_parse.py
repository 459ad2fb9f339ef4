"""Twilio's webhook form → SmsMessage → Intake, on literal forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.twilio_sms.parse import BadMessage, e164, parse, to_intake
from tickets.model import Channel

MMS = {
    "ToCountry": "CN", "MessageSid": "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "NumMedia": "2",
    "From": "+8613912345678", "To": "+861065529601", "Body": " 小区门口垃圾没人清 ",
    "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM0/Media/ME1",
    "MediaContentType0": "image/jpeg",
    "MediaUrl1": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM0/Media/ME2",
    "MediaContentType1": "image/png", "AccountSid": "AC1", "ApiVersion": "2010-04-01",
}


@pytest.mark.parametrize("raw,expected", [
    ("+8613912345678", "+8613912345678"),
    ("13912345678", "+8613912345678"),
    ("+86 139-1234-5678", "+8613912345678"),
    ("010 6552 1234", "+861065521234"),
    ("+14155550123", "+14155550123"),
    ("96010", None),
    ("TWILIO", None),
    ("", None),
])
def test_e164(raw: str, expected: str | None) -> None:
    assert e164(raw) == expected


def test_mms_with_two_pictures() -> None:
    msg = parse(MMS)
    assert (msg.sid, msg.from_, msg.to, msg.body) == (
        "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+8613912345678", "+861065529601",
        "小区门口垃圾没人清")
    assert [(m.url[-3:], m.content_type) for m in msg.media] == [
        ("ME1", "image/jpeg"), ("ME2", "image/png")]
    at = datetime(2026, 11, 26, tzinfo=UTC)
    intake = to_intake(msg, at)
    assert intake.channel is Channel.sms and intake.channel_ref == msg.sid
    assert intake.citizen.phone == "+8613912345678"
    assert [a.url for a in intake.attachments] == [MMS["MediaUrl0"], MMS["MediaUrl1"]]
    assert all(a.sha256 is None for a in intake.attachments)


def test_plain_sms_without_num_media() -> None:
    msg = parse({"MessageSid": "SM1", "From": "13800138000", "Body": "你好"})
    assert msg.media == () and msg.from_ == "+8613800138000"


@pytest.mark.parametrize("form,message", [
    ({"Body": "x"}, "MessageSid"),
    ({"MessageSid": "SM1", "NumMedia": "x"}, "NumMedia"),
    ({"MessageSid": "SM1", "NumMedia": "11"}, "NumMedia"),
    ({"MessageSid": "SM1", "NumMedia": "1"}, "MediaUrl0"),
    ({"MessageSid": "SM1", "NumMedia": "1", "MediaUrl0": "file:///etc/passwd"}, "MediaUrl0"),
    ({"MessageSid": "SM\x001"}, "MessageSid"),
    ({"MessageSid": "SM1", "NumMedia": "1", "MediaUrl0": "https://x/\x01"}, "MediaUrl0"),
    ({"MessageSid": "SM1", "NumMedia": "1", "MediaUrl0": "https://x/1",
      "MediaContentType0": "image/\x00jpeg"}, "MediaContentType0"),
])
def test_bad_forms(form: dict[str, str], message: str) -> None:
    with pytest.raises(BadMessage, match=message):
        parse(form)


def test_control_characters_in_the_body_are_dropped_not_the_message() -> None:
    message = parse({"MessageSid": "SM1", "From": "+8613912345678",
                     "Body": "\x00路灯\x1b[0m坏了\x0b\x0c\n一周"})
    assert message.body == "路灯[0m坏了\n一周"
    assert to_intake(message, datetime(2026, 11, 30, tzinfo=UTC)).text == message.body
