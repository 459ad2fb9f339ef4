"""Merges through the back-office API (SQLite and PostgreSQL): the survivor is checked inside
the write transaction, so opposite merges racing each other never close a chain on itself;
``merged_into`` comes only with status ``merged``; ``event_id`` is scoped to the API key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.tickets.test_api import error, event, submit, token
from tickets.apikeys import Scope
from tickets.store import Store


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="development", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, store=store, redis_url="")) as c:
        yield c


@pytest.fixture
def full(store: Store) -> dict[str, str]:
    return token(store, Scope.intake, Scope.read, Scope.events)

PAIRS = 12


def _race(client: TestClient, headers: dict[str, str],
          moves: list[tuple[str, str]]) -> list[Any]:
    """Post every ``(ticket, merged_into)`` merge at once from its own thread."""
    barrier = threading.Barrier(len(moves))
    answers: list[Any] = [None] * len(moves)

    def post(i: int, tid: str, into: str) -> None:
        barrier.wait()
        answers[i] = event(client, headers, tid, status="merged", merged_into=into)

    threads = [threading.Thread(target=post, args=(i, a, b)) for i, (a, b) in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _open_survivor(client: TestClient, headers: dict[str, str], ids: list[str]) -> None:
    tickets = [client.get(f"/api/v1/tickets/{i}", headers=headers).json() for i in ids]
    alive = [t for t in tickets if t["status"] != "merged"]
    assert len(alive) == 1, [(t["number"], t["status"], t["merged_into"]) for t in tickets]


def test_opposite_merges_in_parallel_leave_exactly_one_survivor(
        client: TestClient, full: dict[str, str]) -> None:
    for p in range(PAIRS):
        a = submit(client, full, channel_ref=f"pa-{p}")["id"]
        b = submit(client, full, channel_ref=f"pb-{p}")["id"]
        answers = _race(client, full, [(a, b), (b, a)])
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409], [r.text for r in answers]
        loser = next(r for r in answers if r.status_code == 409)
        assert error(loser, 409)["code"] == "merge_conflict"
        _open_survivor(client, full, [a, b])


def test_a_merge_chain_never_closes_on_itself(client: TestClient,
                                              full: dict[str, str]) -> None:
    for p in range(PAIRS // 2):
        ids = [submit(client, full, channel_ref=f"c{p}-{i}")["id"] for i in range(3)]
        a, b, c = ids
        answers = _race(client, full, [(a, b), (b, c), (c, a)])
        assert all(r.status_code in (200, 409) for r in answers), [r.text for r in answers]
        _open_survivor(client, full, ids)
    # one after the other: A→B, B→C, then C→A is refused
    a, b, c = (submit(client, full, channel_ref=f"seq-{i}")["id"] for i in range(3))
    assert event(client, full, a, status="merged", merged_into=b).status_code == 200
    assert event(client, full, b, status="merged", merged_into=c).status_code == 200
    e = error(event(client, full, c, status="merged", merged_into=a), 409)
    assert e["code"] == "merge_conflict"
    _open_survivor(client, full, [a, b, c])


def test_merged_into_comes_only_with_status_merged(client: TestClient,
                                                   full: dict[str, str]) -> None:
    a, b, c = (submit(client, full, channel_ref=f"mi-{i}")["id"] for i in range(3))
    # on an open ticket, with a note or with another status
    error(event(client, full, a, note="同一件事", merged_into=b), 422)
    error(event(client, full, a, status="registered", merged_into=b), 422)
    # on a merged ticket (re-pointing it) and on a rejected one
    assert event(client, full, a, status="merged", merged_into=b).status_code == 200
    error(event(client, full, a, note="改合并", merged_into=c), 422)
    assert event(client, full, c, status="rejected", reason="重复").status_code == 200
    error(event(client, full, c, note="x", merged_into=b), 422)
    got = {i: client.get(f"/api/v1/tickets/{i}", headers=full).json() for i in (a, b, c)}
    assert got[a]["merged_into"] == b
    assert got[b]["merged_into"] is None and got[c]["merged_into"] is None
    assert got[c]["status"] == "rejected"


def test_event_id_is_scoped_to_the_key_that_sent_it(client: TestClient, store: Store,
                                                    full: dict[str, str]) -> None:
    other = token(store, Scope.events, Scope.read, name="second-system")
    tid = submit(client, full, channel_ref="eid-1")["id"]
    first = event(client, full, tid, note="街道已派人", event_id="e-7")
    assert first.status_code == 200
    second = event(client, other, tid, note="部门已受理", event_id="e-7")
    assert second.status_code == 200, second.text
    notes = [h["note"] for h in second.json()["history"]]
    assert "街道已派人" in notes and "部门已受理" in notes
    # a true repeat from either key records nothing more and answers 200 with the ticket
    again = event(client, other, tid, note="部门已受理", event_id="e-7")
    assert again.status_code == 200 and again.json() == second.json()
    # the same id for a different event from the same key is a conflict, not a silent drop
    e = error(event(client, full, tid, note="别的事", event_id="e-7"), 409)
    assert e["code"] == "event_id_reused"
    final = client.get(f"/api/v1/tickets/{tid}", headers=full).json()
    assert final == second.json()
