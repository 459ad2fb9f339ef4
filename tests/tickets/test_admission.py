"""Admission control: past ``HOTLINE_MAX_INTAKES_IN_FLIGHT`` intakes in the store, the JSON
intake answers 503 with Retry-After and the JSON error shape at once, and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tickets import apikeys
from tickets.admission import INTAKES, Admission
from tickets.apikeys import Scope
from tickets.store import Store

BODY = {"channel_ref": "busy-1", "text": "小区门口井盖丢失", "kind": "report"}


@pytest.fixture
def client(sqlite_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="development", data_dir=tmp_path, _env_file=None,  # type: ignore[call-arg]
                        max_intakes_in_flight=2)
    with TestClient(create_app(settings, store=sqlite_store, redis_url="")) as c:
        yield c
    INTAKES.limit = Settings(_env_file=None).max_intakes_in_flight  # type: ignore[call-arg]


def test_the_bound_counts_and_never_waits() -> None:
    a = Admission(2)
    assert a.enter() and a.enter()
    assert not a.enter() and a.in_flight == 2
    a.leave()
    assert a.enter() and a.in_flight == 2


def test_beyond_the_bound_the_intake_is_refused_with_retry_after(
        client: TestClient, sqlite_store: Store) -> None:
    _, tok = apikeys.create(sqlite_store.db, "busy", frozenset({Scope.intake}))
    headers = {"Authorization": f"Bearer {tok}"}
    assert INTAKES.limit == 2 and INTAKES.in_flight == 0
    taken = [INTAKES.enter(), INTAKES.enter()]  # two intakes of this process in the store
    try:
        r = client.post("/api/v1/intake", json=BODY, headers=headers)
    finally:
        for _ in taken:
            INTAKES.leave()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "overloaded" and r.json()["error"]["message"]
    assert sqlite_store.feed(0, 10) == []
    # the retry, once there is room, is filed (and left its place behind)
    again = client.post("/api/v1/intake", json=BODY, headers=headers)
    assert again.status_code == 201, again.text
    assert INTAKES.in_flight == 0
    assert [t.number for t in sqlite_store.feed(0, 10)] == [again.json()["number"]]
