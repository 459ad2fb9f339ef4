"""GET requests' filters (ids, service codes, dates, open/closed, paging) and FixMyStreet's
service request updates (GET incremental, POST from a unit through the events path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.channels.open311.conftest import (
    FORMATS,
    INSIDE,
    J,
    both,
    created,
    error_of,
    key,
    post,
)
from tests.channels.open311.schemas import parse_xml
from tickets.apikeys import Scope
from tickets.events import TicketEvent, apply_event
from tickets.model import HistoryKind, Status, Ticket
from tickets.store import Store

VENDING = "urban.street-vending"


def make(client: TestClient, intake_key: str, code: str = VENDING, text: str = "占道") -> str:
    body = {"service_code": code, "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
            "description": text, "api_key": intake_key}
    return str(created(post(client, "json", body))["service_request_id"])


def move(store: Store, number: str, *statuses: Status, note: str | None = None) -> None:
    for status in statuses:
        event = TicketEvent(actor="dept:test", status=status, note=note,
                            reason="不属于职责" if status is Status.rejected else None)
        def step(t: Ticket, seq: int, at: datetime, e: TicketEvent = event) -> Ticket | None:
            return apply_event(t, e, seq, at)

        store.change(number, step)


def ids(client: TestClient, **params: Any) -> list[str]:
    rows, _ = both(client, "requests", "requests", params=params)
    return [r["service_request_id"] for r in rows]


def test_filters(client: TestClient, store: Store, intake_key: str) -> None:
    a = make(client, intake_key)
    b = make(client, intake_key, "unclassified")
    c = make(client, intake_key)
    move(store, c, Status.rejected)
    assert ids(client) == [c, b, a]  # newest first
    assert ids(client, status="open") == [b, a]
    assert ids(client, status="closed") == [c]
    assert ids(client, status="open,closed") == [c, b, a]
    assert ids(client, service_code="unclassified") == [b]
    assert ids(client, service_code=f"{VENDING},unclassified", status="open") == [b, a]
    assert ids(client, service_request_id=f"{a},{c},0000000000") == sorted([a, c])
    now = datetime.now(UTC)
    assert ids(client, start_date=(now + timedelta(minutes=5)).isoformat()) == []
    assert ids(client, end_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    assert ids(client, page_size="2") == [c, b]
    assert ids(client, page_size="2", page="2") == [a]
    (row,), _ = both(client, f"requests/{c}", "requests")
    assert row["status"] == "closed" and row["status_notes"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("params", [
    {"start_date": "yesterday"},
    {"start_date": "2026-01-01T00:00:00"},  # no time zone
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # > 90 days
    {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    {"status": "pending"},
    {"page_size": "100000"},
    {"page": "0"},
])
def test_bad_queries_are_400(client: TestClient, fmt: str, params: dict[str, str]) -> None:
    error_of(client.get(f"/open311/v2/requests.{fmt}", params={**J, **params}), 400)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_is_404(client: TestClient, fmt: str) -> None:
    error_of(client.get(f"/open311/v2/requests/9999999999.{fmt}", params=J), 404)


# -- servicerequestupdates -------------------------------------------------------------------

def updates(client: TestClient, fmt: str, **params: str) -> list[dict[str, Any]]:
    r = client.get(f"/open311/v2/servicerequestupdates.{fmt}", params={**J, **params})
    assert r.status_code == 200, r.text
    if fmt == "json":
        return list(r.json())
    root = parse_xml(r.content)
    assert root.tag == "service_request_updates"
    return [{c.tag: c.text for c in item} for item in root]


def post_update(client: TestClient, fmt: str, **data: str) -> Any:
    return client.post(f"/open311/v2/servicerequestupdates.{fmt}", data={**J, **data})


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_unit_reports_through_the_events_path(client: TestClient, store: Store,
                                                intake_key: str, events_key: str,
                                                fmt: str) -> None:
    number = make(client, intake_key)
    move(store, number, Status.registered, Status.dispatched)
    error_of(post_update(client, fmt, service_request_id=number, status="FIXED",
                         api_key=intake_key), 403)
    r = post_update(client, fmt, service_request_id=number, status="FIXED", update_id="u-1",
                    description="摊贩已劝离 <已处理>", api_key=events_key)
    assert r.status_code == 200, r.text
    ticket = store.get(number)
    assert ticket.status is Status.resolved  # dispatched → in_progress → resolved
    assert [h.status for h in ticket.history[-2:]] == [Status.in_progress, Status.resolved]
    assert ticket.history[-1].actor == "open311:dept-law-enforcement"
    again = post_update(client, fmt, service_request_id=number, status="FIXED",
                        update_id="u-1", description="摊贩已劝离 <已处理>",
                        api_key=events_key)
    assert again.content == r.content and store.get(number).seq == ticket.seq
    reused = post_update(client, fmt, service_request_id=number, status="FIXED",
                         update_id="u-1", description="另一件事", api_key=events_key)
    assert "update_id 'u-1'" in error_of(reused, 409)
    assert store.get(number).seq == ticket.seq
    got = updates(client, fmt)
    assert [u["status"] for u in got] == ["OPEN", "OPEN", "FIXED"]
    assert got[-1]["description"].endswith("摊贩已劝离 <已处理>")
    assert got[-1]["update_id"] in r.text
    assert updates(client, fmt) == got  # update_id is stable
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert updates(client, fmt, start_date=later) == []
    # a status the loop forbids from here is refused, nothing written
    move(store, number, Status.closed)
    seq = store.get(number).seq
    error_of(post_update(client, fmt, service_request_id=number, status="IN_PROGRESS",
                         api_key=events_key), 409)
    assert store.get(number).seq == seq


def test_not_ours_is_sent_back(client: TestClient, store: Store, intake_key: str,
                               events_key: str) -> None:
    number = make(client, intake_key)
    move(store, number, Status.registered, Status.dispatched)
    r = post_update(client, "xml", service_request_id=number,
                    status="NOT_COUNCILS_RESPONSIBILITY", description="属于市政管线，不属本单位",
                    api_key=events_key)
    assert r.status_code == 200, r.text
    ticket = store.get(number)
    assert ticket.status is Status.registered
    assert ticket.history[-1].kind is HistoryKind.sent_back
    assert ticket.history[-1].note == "属于市政管线，不属本单位"


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_updates(client: TestClient, store: Store, events_key: str, fmt: str) -> None:
    error_of(post_update(client, fmt, service_request_id="9999999999", status="OPEN",
                         api_key=events_key), 404)
    error_of(post_update(client, fmt, service_request_id="9999999999", status="MAYBE",
                         api_key=events_key), 400)
    error_of(post_update(client, fmt, service_request_id="x", status="OPEN",
                         api_key=events_key), 400)
    error_of(post_update(client, fmt, status="OPEN", api_key=key(store, Scope.intake)), 403)
