"""The hardened parser: flat WeChat documents pass; DTDs, entities and junk are refused."""

from __future__ import annotations

import pytest

from channels.wechat.xmlsafe import BadXml, parse_fields
from tests.channels.wechat.samples import BILLION_LAUGHS, EXTERNAL_DTD, TEXT, XXE


def test_flat_document() -> None:
    fields = parse_fields(TEXT)
    assert fields["Content"] == "小区东门路灯坏了三天了"
    assert fields["MsgId"] == "24601" and fields["MsgType"] == "text"


@pytest.mark.parametrize("body", [XXE, EXTERNAL_DTD, BILLION_LAUGHS],
                         ids=["xxe", "external-dtd", "billion-laughs"])
def test_dtds_are_refused_without_expansion(body: bytes) -> None:
    with pytest.raises(BadXml, match="DTD"):
        parse_fields(body)


@pytest.mark.parametrize("body,match", [
    (b"", "empty"),
    (b"<xml><a>", "malformed"),
    (b"<root><a>1</a></root>", "root element"),
    (b"<xml>" + b"<a>1</a>" * 65 + b"</xml>", "fields"),
])
def test_malformed(body: bytes, match: str) -> None:
    with pytest.raises(BadXml, match=match):
        parse_fields(body)
