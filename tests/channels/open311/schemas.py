"""The GeoReport v2 JSON Schemas of open311/schema-validation (copied under ``schemas/``, see
its README) and a strict reading of XML answers into the same shape, so every answer is
checked against the same schema in both formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FOLDER = Path(__file__).with_name("schemas")
NAMES = ("request", "requests", "service", "services", "service-definition")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text())
    return data


REGISTRY: Registry[Any] = Registry().with_resources(
    (f"{name}.json", Resource.from_contents(_load(name), default_specification=DRAFT202012))
    for name in NAMES)


def validate(name: str, instance: Any) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``instance`` fits ``<name>.json``."""
    Draft202012Validator(_load(name), registry=REGISTRY,
                         format_checker=FormatChecker()).validate(instance)


def _types(schema: dict[str, Any]) -> set[str]:
    found = {schema["type"]} if "type" in schema else set()
    for option in schema.get("anyOf", []):
        found |= _types(option)
    return found


def _typed(text: str | None, schema: dict[str, Any]) -> Any:
    if text is None or text == "":
        return None if "null" in _types(schema) or not _types(schema) else ""
    types = _types(schema)
    if "boolean" in types:
        assert text in ("true", "false"), text
        return text == "true"
    if "integer" in types:
        return int(text)
    if "number" in types:
        return float(text)
    return text


def _element(element: Any, schema: dict[str, Any]) -> Any:
    """An XML element as the JSON the schema describes (list-valued fields included)."""
    if schema.get("type") == "array":
        items = schema["items"]
        return [_element(child, items) for child in element]
    props: dict[str, Any] = schema.get("properties", {})
    if props:
        return {child.tag: _element(child, props.get(child.tag, {})) for child in element}
    return _typed(element.text, schema)


def parse_xml(body: bytes) -> Any:
    """Strict parse (defusedxml: no DTDs, entities or external references) of a UTF-8 answer
    with its XML declaration."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
    return SafeET.fromstring(body, forbid_dtd=True)


def xml_as_json(body: bytes, name: str) -> Any:
    """An XML answer read into the shape of schema ``name`` (``requests``/``services``: the
    root's children are the items; otherwise the root is the object)."""
    root = parse_xml(body)
    if name in ("requests", "services"):
        item = _load(name[:-1])
        return [_element(child, item) for child in root]
    return _element(root, _load(name))
