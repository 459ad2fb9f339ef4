"""Literal XML of every WeChat type → what it asks of the gateway."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.wechat.parse import (
    Ignored,
    LocationUpdate,
    MenuClick,
    Report,
    Subscribe,
    parse,
)
from channels.wechat.xmlsafe import BadXml, parse_fields
from router.model import Channel, Kind
from tests.channels.wechat import samples as s


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
    assert report(s.UNKNOWN_NO_ID).intake.channel_ref == f"{s.OPENID}:{s.T}:hologram"


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


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
_TYPES = st.sampled_from(["text", "image", "voice", "video", "shortvideo", "location", "link",
                          "event", "file", "miniprogrampage"]) | _TEXT
_NAMES = st.sampled_from(["Content", "PicUrl", "MediaId", "Format", "Recognition", "Location_X",
                          "Location_Y", "Label", "Title", "Url", "Event", "EventKey", "Latitude",
                          "Longitude", "Precision", "MsgId", "Scale"])


@settings(max_examples=300, deadline=None)
@given(msg_type=_TYPES, extra=st.dictionaries(_NAMES, _TEXT, max_size=6),
       create_time=st.sampled_from(["1795700000", "0", "", "x"]))
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
