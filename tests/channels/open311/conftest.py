"""An app over a real store (SQLite and PostgreSQL) with Open311 on, its API keys, and helpers
that fetch an endpoint in XML and JSON, check both against the GeoReport v2 schemas and
return the JSON reading of each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.channels.open311.schemas import parse_xml, validate, xml_as_json
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.store import Store

JURISDICTION = "dongcheng.beijing.gov.cn"
J = {"jurisdiction_id": JURISDICTION}
# a point inside grid cell DC-DHM-0101 of the shipped places, and one in Shanghai
INSIDE = (39.9007918, 116.39271492847358)
OUTSIDE = (31.2304, 121.4737)
FORMATS = ("xml", "json")


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="development", data_dir=tmp_path,
                        open311_jurisdiction=JURISDICTION, public_url="https://96010.example",
                        _env_file=None)
    with TestClient(create_app(settings, store=store, redis_url="")) as c:
        yield c


def key(store: Store, *scopes: Scope, name: str = "fms") -> str:
    return apikeys.create(store.db, name, frozenset(scopes))[1]


@pytest.fixture
def intake_key(store: Store) -> str:
    return key(store, Scope.intake, name="city-app")


@pytest.fixture
def events_key(store: Store) -> str:
    return key(store, Scope.events, name="dept-law-enforcement")


def both(client: TestClient, path: str, schema: str | None, *, status: int = 200,
         params: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """GET ``path.xml`` and ``path.json``; each answer checked (status, content type, schema)
    and read; the two readings must be the same document."""
    got = []
    for fmt in FORMATS:
        r = client.get(f"/open311/v2/{path}.{fmt}", params={**J, **(params or {})})
        assert r.status_code == status, r.text
        if fmt == "xml":
            assert r.headers["content-type"] == "text/xml; charset=utf-8"
            data = xml_as_json(r.content, schema) if schema else parse_xml(r.content)
        else:
            assert r.headers["content-type"] == "application/json; charset=utf-8"
            data = r.json()
        if schema:
            validate(schema, data)
        got.append(data)
    if schema:
        assert got[0] == got[1]
    return got[0], got[1]


def error_of(r: Any, status: int) -> str:
    """The spec's error document, in the format of the request's extension."""
    assert r.status_code == status, r.text
    if r.request.url.path.endswith(".json"):
        body = r.json()
        assert isinstance(body, list) and body[0]["code"] == status
        return str(body[0]["description"])
    root = parse_xml(r.content)
    assert root.tag == "errors" and root.findtext("error/code") == str(status)
    return str(root.findtext("error/description"))


def post(client: TestClient, fmt: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(f"/open311/v2/requests.{fmt}", data={**J, **data}, **kw)


def created(r: Any) -> dict[str, Any]:
    """The answer of a POST requests, read from either format."""
    assert r.status_code in (200, 201), r.text
    if r.request.url.path.endswith(".json"):
        rows = r.json()
    else:
        rows = [{c.tag: c.text for c in item} for item in parse_xml(r.content)]
    assert len(rows) == 1 and set(rows[0]) == {"service_request_id", "token", "service_notice",
                                               "account_id"}
    return dict(rows[0])


def public_text(client: TestClient, number: str) -> str:
    """Everything the public endpoints say about a request, in both formats."""
    out = []
    for fmt in FORMATS:
        out.append(client.get(f"/open311/v2/requests/{number}.{fmt}", params=J).text)
        out.append(client.get(f"/open311/v2/requests.{fmt}", params=J).text)
        out.append(client.get(f"/open311/v2/servicerequestupdates.{fmt}", params=J).text)
    return json.dumps(out, ensure_ascii=False)
