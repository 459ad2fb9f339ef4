"""Literal XML of every WeChat type → what it asks of the gateway."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.wechat.parse import (
    MAX_CREATE_TIME,
    Ignored,
    LocationUpdate,
    MenuClick,
    Report,
    Subscribe,
    event_ref,
    parse,
)
from channels.wechat.xmlsafe import BadXml, parse_fields
from tests.channels.wechat import samples as s
from tickets.model import Channel, Kind


def run(body: bytes) -> object:
    return parse(body, parse_fields(body))


def report(body: bytes) -> Report:
    result = run(body)
    assert isinstance(result, Report)
    assert (result.account, result.openid) == (s.ACCOUNT, s.OPENID)
    assert result.intake.channel is Channel.wechat
    assert result.intake.citizen.wechat_openid == s.OPENID
    assert result.intake.received_at == datetime.fromtimestamp(s.T, UTC)
    return result


def test_text() -> None:
    r = report(s.TEXT)
    assert (r.intake.channel_ref, r.intake.text, r.intake.kind) == (
        "24601", "小区东门路灯坏了三天了", Kind.unknown)
    assert r.intake.attachments == [] and r.intake.location is None


def test_image_keeps_pic_url() -> None:
    r = report(s.IMAGE)
    [a] = r.intake.attachments
    assert (a.url, a.content_type) == ("http://mmbiz.qpic.cn/mmbiz_jpg/abc/0", "image/jpeg")


def test_voice_uses_recognition_and_keeps_media_id() -> None:
    r = report(s.VOICE)
    assert r.intake.text == "楼上漏水了"
    assert r.intake.transcript is not None and r.intake.transcript.engine == "wechat"
    [a] = r.intake.attachments
    assert (a.url, a.content_type) == ("wechat-media:media_id_voice_1", "audio/amr")


def test_voice_without_recognition() -> None:
    r = report(s.VOICE_NO_RECOGNITION)
    assert r.intake.text == "" and r.intake.transcript is None
    assert r.intake.attachments[0].content_type == "audio/speex"


def test_location_becomes_the_ticket_location() -> None:
    r = report(s.LOCATION)
    where = r.intake.location
    assert where is not None
    assert (where.lat, where.lon) == (39.915119, 116.403963)
    assert where.address == "北京市东城区东华门街道"


def test_link() -> None:
    assert report(s.LINK).intake.text == "噪音扰民\n工地夜间施工\nhttps://example.cn/a/1"


@pytest.mark.parametrize("body,media", [(s.VIDEO, "media_id_video"), (s.SHORTVIDEO, "media_id_sv")])
def test_video_keeps_media_id(body: bytes, media: str) -> None:
    [a] = report(body).intake.attachments
    assert (a.url, a.content_type) == (f"wechat-media:{media}", "video/mp4")


def test_unknown_type_is_still_a_report() -> None:
    r = report(s.UNKNOWN)
    assert r.intake.kind is Kind.unknown and "file" in r.intake.text
    assert r.intake.channel_ref == "24609"


def test_unknown_type_without_msg_id_is_keyed_by_sender_and_time() -> None:
    """Stable for WeChat's retries (same sender, time, type) but without the openid itself:
    refs appear in logs and URLs (issue 9, item 12)."""
    digest = hashlib.sha256(f"{s.OPENID}:{s.T}:hologram".encode()).hexdigest()[:32]
    ref = report(s.UNKNOWN_NO_ID).intake.channel_ref
    assert ref == f"hologram:{digest}" == event_ref(s.OPENID, str(s.T), "hologram")
    assert s.OPENID not in ref
    assert report(s.UNKNOWN_NO_ID).intake.channel_ref == ref  # a retry gets the same ref
    assert event_ref("oAnotherOpenid000000000000", str(s.T), "hologram") != ref


@pytest.mark.parametrize("msg_id", ["", "not-a-number", "1" * 65])
def test_a_missing_or_odd_msg_id_falls_back_to_the_event_ref(msg_id: str) -> None:
    body = s.xml(s.T, "text", "<Content><![CDATA[hi]]></Content>").replace(
        b"</xml>", f"<MsgId>{msg_id}</MsgId></xml>".encode())
    ref = report(body).intake.channel_ref
    assert ref == event_ref(s.OPENID, str(s.T), "text") and s.OPENID not in ref


@pytest.mark.parametrize("body", [s.SUBSCRIBE, s.SUBSCRIBE_QR])
def test_subscribe(body: bytes) -> None:
    assert run(body) == Subscribe(s.ACCOUNT, s.OPENID)


def test_location_event() -> None:
    assert run(s.LOCATION_EVENT) == LocationUpdate(s.ACCOUNT, s.OPENID, 39.928211, 116.416352,
                                                   30.0)


def test_click() -> None:
    assert run(s.CLICK_COMPLAINT) == MenuClick(s.ACCOUNT, s.OPENID, "KIND_COMPLAINT")


@pytest.mark.parametrize("body,event", [(s.UNSUBSCRIBE, "unsubscribe"), (s.VIEW, "view")])
def test_other_events_are_ignored(body: bytes, event: str) -> None:
    assert run(body) == Ignored(s.ACCOUNT, s.OPENID, event)


@pytest.mark.parametrize("body,match", [
    (b"<xml><ToUserName>a</ToUserName></xml>", "FromUserName"),
    (s.TEXT.replace(str(s.T).encode(), b"yesterday"), "CreateTime"),
    (s.LOCATION.replace(b"39.915119", b"north"), "location"),
    (s.LOCATION.replace(b"39.915119", b"139.9"), "location"),
    (s.LOCATION_EVENT.replace(b"39.928211", b""), "Latitude"),
])
def test_bad_messages(body: bytes, match: str) -> None:
    with pytest.raises(BadXml, match=match):
        run(body)


# -- values no client sends, from a signed sender (issue 9, items 4 and 14) -------------------

@pytest.mark.parametrize("create_time", [
    str(MAX_CREATE_TIME + 1),  # 10000-01-01T00:00:00Z
    "999999999999",  # 12 digits, year ~33658
    "9" * 13, "9" * 309, "9" * 4301,
])
def test_create_time_past_the_year_9999_is_bad_xml(create_time: str) -> None:
    """Before: ``datetime.fromtimestamp`` raised ValueError/OverflowError → a 500."""
    with pytest.raises(BadXml, match="CreateTime"):
        run(s.TEXT.replace(str(s.T).encode(), create_time.encode()))


@pytest.mark.parametrize("create_time", ["²", "¹⁷⁹⁵⁷⁰⁰⁰⁰⁰", "１７９５７０００００"])
def test_create_time_in_other_digits_is_bad_xml(create_time: str) -> None:
    """``str.isdigit()`` accepts superscripts, which ``int()`` refuses (a ValueError → 500)."""
    with pytest.raises(BadXml, match="CreateTime"):
        run(s.TEXT.replace(str(s.T).encode(), create_time.encode()))


def test_create_time_on_the_last_second_of_9999_is_accepted() -> None:
    r = run(s.TEXT.replace(str(s.T).encode(), str(MAX_CREATE_TIME).encode()))
    assert isinstance(r, Report)
    assert r.intake.received_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("field,value", [
    ("Precision", "nan"), ("Precision", "NaN"), ("Precision", "inf"), ("Precision", "-Infinity"),
    ("Latitude", "nan"), ("Longitude", "inf"), ("Precision", "1e999"),
])
def test_location_event_with_a_value_that_is_not_finite_is_bad_xml(field: str,
                                                                   value: str) -> None:
    """NaN in Precision was stored in channel_state: a 500 on PostgreSQL (JSON has no NaN)."""
    original = {"Latitude": b"39.928211", "Longitude": b"116.416352",
                "Precision": b"30.000000"}[field]
    body = s.LOCATION_EVENT.replace(original, value.encode())
    with pytest.raises(BadXml, match="Latitude"):
        run(body)


@pytest.mark.parametrize("x,y", [("nan", "116.4"), ("39.9", "inf"), ("-inf", "nan")])
def test_location_message_that_is_not_finite_is_bad_xml(x: str, y: str) -> None:
    body = s.LOCATION.replace(b"39.915119", x.encode()).replace(b"116.403963", y.encode())
    with pytest.raises(BadXml, match="location"):
        run(body)


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
_TYPES = st.sampled_from(["text", "image", "voice", "video", "shortvideo", "location", "link",
                          "event", "file", "miniprogrampage"]) | _TEXT
_ODD_NUMBERS = st.sampled_from(["nan", "inf", "-inf", "1e999", "9" * 400, "-0", "1e-400"])
_NAMES = st.sampled_from(["Content", "PicUrl", "MediaId", "Format", "Recognition", "Location_X",
                          "Location_Y", "Label", "Title", "Url", "Event", "EventKey", "Latitude",
                          "Longitude", "Precision", "MsgId", "Scale"])


@settings(max_examples=300, deadline=None)
@given(msg_type=_TYPES, extra=st.dictionaries(_NAMES, _ODD_NUMBERS | _TEXT, max_size=6),
       create_time=st.sampled_from(["1795700000", "0", "", "x", str(MAX_CREATE_TIME + 1),
                                    "9" * 13, "9" * 400, "9" * 5000]))
def test_any_flat_document_is_inbound_or_bad_xml(msg_type: str, extra: dict[str, str],
                                                 create_time: str) -> None:
    """Whatever a signed sender puts in the fields: a mapped message or a 400, never a crash."""
    root = Element("xml")
    for name, value in {"ToUserName": s.ACCOUNT, "FromUserName": s.OPENID,
                        "CreateTime": create_time, "MsgType": msg_type, **extra}.items():
        SubElement(root, name).text = value
    body = tostring(root, encoding="utf-8")
    try:
        result = run(body)
    except BadXml:
        return
    assert isinstance(result, Report | Subscribe | LocationUpdate | MenuClick | Ignored)
