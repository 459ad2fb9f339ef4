"""Open311 documents rendered as XML or JSON from one neutral shape (no I/O).

A document is a root element name, an item element name and rows (``dict``s whose values are
``str | int | float | bool | None`` or lists of such rows / scalars). XML is built with
:mod:`xml.etree.ElementTree` (text is escaped by the serializer; never string formatting), with
the UTF-8 declaration the spec asks for; ``None`` is an empty element. Characters XML 1.0 cannot
carry (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) are dropped from XML
and JSON alike, so both formats say the same thing.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

Scalar = str | int | float | bool | None
Value = Scalar | Sequence["Row"] | Sequence[str]
Row = Mapping[str, Value]

# the element name of one item of a list-valued field
ITEM_NAMES = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Format(StrEnum):
    xml = "xml"
    json = "json"


CONTENT_TYPES = {Format.xml: "text/xml; charset=utf-8",
                 Format.json: "application/json; charset=utf-8"}


def clean(text: str) -> str:
    """``text`` without the characters an XML 1.0 document cannot hold."""
    return _NOT_XML.sub("", text)


def _scalar_text(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return clean(str(value))


def _append(parent: ET.Element, name: str, value: Value) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, (list, tuple)):
        item_name = ITEM_NAMES.get(name, "item")
        for item in value:
            if isinstance(item, Mapping):
                _fill(ET.SubElement(child, item_name), item)
            else:
                ET.SubElement(child, item_name).text = _scalar_text(item)
        return
    assert not isinstance(value, (list, tuple, Mapping))
    child.text = _scalar_text(value)  # type: ignore[arg-type]


def _fill(element: ET.Element, row: Row) -> None:
    for name, value in row.items():
        _append(element, name, value)


def to_xml(root: str, item: str | None, rows: Iterable[Row]) -> bytes:
    """``<root><item>…</item>…</root>``; with ``item`` None the single row fills the root."""
    element = ET.Element(root)
    for row in rows:
        _fill(element if item is None else ET.SubElement(element, item), row)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _json_value(value: Value) -> object:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, (list, tuple)):
        return [_json_row(v) if isinstance(v, Mapping) else _json_value(v) for v in value]
    return value


def _json_row(row: Row) -> dict[str, object]:
    return {name: _json_value(value) for name, value in row.items()}


def to_json(rows: Iterable[Row], *, single: bool = False) -> bytes:
    """A JSON array of the rows (the spec's shape), or the one row as an object (discovery)."""
    data: object = [_json_row(r) for r in rows]
    if single:
        items = data if isinstance(data, list) else []
        data = items[0] if items else {}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def render(fmt: Format, root: str, item: str | None, rows: Sequence[Row]) -> bytes:
    if fmt is Format.xml:
        return to_xml(root, item, rows)
    return to_json(rows, single=item is None)


def errors(fmt: Format, status: int, description: str) -> bytes:
    """The spec's error document: ``<errors><error><code>…`` / ``[{"code", "description"}]``."""
    return render(fmt, "errors", "error", [{"code": status, "description": description}])
