"""NUL never reaches the database: PostgreSQL refuses it in text (a 500 where a route forgot),
so a NUL anywhere in the path, the query or a urlencoded form is a 400 at the request
boundary, for every route, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.people import Role
from tests.console.conftest import PASSWORD
from tests.console.web import HTML, csrf_of, gateway, log_in
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.store import Store


@pytest.fixture
def boss(tmp_path: Path, store: Store) -> Iterator[tuple[TestClient, str, dict[str, str]]]:
    app = gateway(tmp_path, store)
    app.state.console.people.add("boss", "李四", Role.supervisor, PASSWORD)
    _, key = apikeys.create(store.db, "nul", frozenset(Scope))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert log_in(client, "boss").status_code == 303
        token = csrf_of(client.get("/console/tickets/new", headers=HTML).text)
        yield client, token, {"Authorization": f"Bearer {key}"}


def refused(answer: object, what: str) -> None:
    status = answer.status_code  # type: ignore[attr-defined]
    assert status == 400, f"{what}: {status} {answer.text[:200]}"  # type: ignore[attr-defined]
    error = answer.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "nul_character" and "NUL" in error["message"], what


@pytest.mark.parametrize("nul", ["%00", "a%00b"])
def test_nul_in_a_path_is_400_everywhere(boss: tuple[TestClient, str, dict[str, str]],
                                         nul: str) -> None:
    client, token, api = boss
    for path in (f"/console/supervision/members/{nul}/pause", f"/console/queue/{nul}",
                 f"/console/calls/{nul}/takeover", f"/console/tickets/{nul}"):
        refused(client.post(path, headers={"x-csrf-token": token}, json={}), path)
    for path in (f"/console/tickets/{nul}", f"/console/media/{nul}", f"/console/{nul}",
                 f"/api/v1/tickets/{nul}", f"/api/v1/media/{nul}", f"/status/{nul}"):
        refused(client.get(path, headers={**HTML, **api}), path)


def test_nul_in_a_query_or_a_form_is_400(boss: tuple[TestClient, str, dict[str, str]]
                                         ) -> None:
    client, token, api = boss
    refused(client.get("/console/inbox", params={"q": "a\x00b"}, headers=HTML), "inbox q")
    refused(client.get("/api/v1/tickets?after=0&x=%00", headers=api), "feed query")
    refused(client.post("/console/tickets/new", headers=HTML,
                        data={"csrf": token, "text": "井盖\x00丢了", "kind": "report"}),
            "new ticket form")
    refused(client.post("/console/supervision/members/boss/pause", headers=HTML,
                        data={"csrf": token, "reason": "a\x00"}), "pause reason")
    # what has no NUL goes through as before
    fine = client.get("/console/inbox", params={"status": "received"}, headers=HTML)
    assert fine.status_code == 200, fine.text[-1500:]
