"""Known answers of the document builder: escaping, empty elements, lists, and characters XML
cannot carry, identical in XML and JSON."""

from __future__ import annotations

import json

from channels.open311.document import Format, errors, render, to_xml
from tests.channels.open311.schemas import parse_xml

HOSTILE = '<a href="x">&amp; </a>]]><!-- 井盖 \x00\x1f\ud800 \ufffe'


def test_xml_known_answer() -> None:
    body = to_xml("services", "service", [{"service_code": "a&b", "metadata": True,
                                           "group": None, "n": 1.5}])
    assert body == (b'<?xml version="1.0" encoding="UTF-8"?>\n<services><service>'
                    b"<service_code>a&amp;b</service_code><metadata>true</metadata>"
                    b"<group /><n>1.5</n></service></services>")


def test_hostile_text_round_trips_through_a_strict_parser() -> None:
    xml = render(Format.xml, "service_requests", "request", [{"description": HOSTILE}])
    parsed = parse_xml(xml)
    text = parsed.find("request/description").text
    assert text == '<a href="x">&amp; </a>]]><!-- 井盖  '
    data = json.loads(render(Format.json, "service_requests", "request",
                             [{"description": HOSTILE}]))
    assert data == [{"description": text}]


def test_nested_lists_take_their_item_names() -> None:
    row = {"endpoints": [{"formats": ["text/xml", "application/json"]}]}
    root = parse_xml(render(Format.xml, "discovery", None, [row]))
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == \
        ["text/xml", "application/json"]
    assert json.loads(render(Format.json, "discovery", None, [row])) == row


def test_errors_in_both_formats() -> None:
    assert json.loads(errors(Format.json, 403, "invalid api_key")) == \
        [{"code": 403, "description": "invalid api_key"}]
    root = parse_xml(errors(Format.xml, 400, "x < y"))
    assert root.tag == "errors"
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("400", "x < y")]
