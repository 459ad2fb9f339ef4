"""Hardened XML intake: every WeChat body is parsed by defusedxml before anything else.

A DTD of any kind (so external entities, XXE and billion-laughs payloads) is refused; the
caller answers 400. Only documents that pass are handed to wechatpy (whose parser is expat via
xmltodict, safe once no DTD is present).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

MAX_FIELDS = 64


class BadXml(ValueError):
    """Not a flat WeChat ``<xml>`` document, or a dangerous one (answered with 400)."""


def parse_fields(body: bytes) -> dict[str, str]:
    """``<xml><A>1</A><B><![CDATA[x]]></B></xml>`` → ``{"A": "1", "B": "x"}``.

    Nested elements (e.g. ``ScanCodeInfo``) keep their text only; wechatpy reads them itself.
    """
    if not body.strip():
        raise BadXml("the body is empty; WeChat sends an <xml> document")
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True,
                                          forbid_external=True)
    except DefusedXmlException as exc:
        raise BadXml(f"refused XML with a DTD or entities ({type(exc).__name__})") from None
    except (ParseError, ValueError) as exc:  # expat: "multi-byte encodings are not supported"
        raise BadXml(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise BadXml(f"the root element must be <xml>, not <{root.tag}>")
    if len(root) > MAX_FIELDS:
        raise BadXml(f"more than {MAX_FIELDS} fields")
    return {child.tag: (child.text or "").strip() for child in root}
