"""A real Open311 client written by someone else — ``georeport`` (PyPI, Apache-2.0, "Python
wrapper for the Open311 GeoReport v2 API") — against the gateway served by uvicorn over TCP,
in both of its formats. (``open311`` 1.1 on PyPI, from 2011, does not import on Python 3: an
implicit relative import in its package; ``georeport`` has no POST, so requests are made with
``requests`` as the spec describes them.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn
from georeport import GeoReport  # type: ignore[import-untyped]

from hotline.app import create_app
from hotline.settings import Settings
from tests.channels.open311.conftest import INSIDE, JURISDICTION, key
from tests.support.services import free_port, wait_until
from tickets.apikeys import Scope
from tickets.store import Store

VENDING = "urban.street-vending"


@pytest.fixture
def base_url(store: Store, tmp_path: Path) -> Iterator[str]:
    settings = Settings(env="development", data_dir=tmp_path,
                        open311_jurisdiction=JURISDICTION, _env_file=None)
    app = create_app(settings, store=store, redis_url="")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-open311", daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    yield f"http://127.0.0.1:{port}/open311/v2"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_georeport_reads_what_the_gateway_serves(base_url: str, store: Store, fmt: str) -> None:
    api_key = key(store, Scope.intake)
    numbers = []
    for text in ("胡同口流动摊贩 <占道> & 扰民", "早市摊贩堵路"):
        r = requests.post(f"{base_url}/requests.{fmt}", timeout=30, data={
            "jurisdiction_id": JURISDICTION, "api_key": api_key, "service_code": VENDING,
            "lat": INSIDE[0], "long": INSIDE[1], "description": text})
        assert r.status_code == 201, r.text
        numbers.append(r.json()[0]["service_request_id"] if fmt == "json"
                       else r.text.split("<service_request_id>")[1].split("<")[0])
    client = GeoReport(base_url, jurisdiction=JURISDICTION, output_format=fmt)

    services = client.get_service_list()
    by_code = {s["service_code"]: s for s in services}
    assert by_code[VENDING]["service_name"] == "占道经营、流动摊贩"

    definition = client.get_service_definition(VENDING)
    assert definition["service_code"] == VENDING

    found = client.get_service_requests(service_request_id=",".join(numbers))
    assert sorted(r["service_request_id"] for r in found) == sorted(numbers)
    assert {r["description"] for r in found} == {"胡同口流动摊贩 <占道> & 扰民", "早市摊贩堵路"}

    one = client.get_service_request(numbers[0])
    assert one["service_request_id"] == numbers[0] and one["status"] == "open"
    assert one["service_code"] == VENDING

    open_ones = client.get_service_requests(status="open", service_code=VENDING)
    assert {r["service_request_id"] for r in open_ones} == set(numbers)
