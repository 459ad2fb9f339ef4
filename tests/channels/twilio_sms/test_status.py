"""Twilio's delivery reports (``POST /channels/twilio/status``): signed, recorded in the
ticket's history once, settling a message whose send outcome was unknown."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.testclient import TestClient

from channels.twilio_sms.status import PATH
from channels.twilio_sms.verify import sign, signed_url
from tests.channels.twilio_sms.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.support.intakes import intake
from tickets import notifications as nt
from tickets.events import TicketEvent, apply_event
from tickets.model import Citizen, HistoryKind, Status
from tickets.store import Store

SID = "SM" + "ab" * 16
AT = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def planned(store: Store) -> tuple[str, nt.Notification]:
    t = store.submit(intake("st", citizen=Citizen(phone="+8613800138000"))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="已处理")
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    [note] = nt.for_ticket(store.db, t.id)
    return t.id, note


def report(client: TestClient, n: int, status: str, code: str | None = None,
           signature: str | None = None) -> int:
    form = {"MessageSid": SID, "MessageStatus": status, "AccountSid": "AC" + "1" * 32,
            "To": "+8613800138000", "From": "+8610690000"}
    if code:
        form["ErrorCode"] = code
    query = urlencode({"n": n})
    url = signed_url(PUBLIC_URL, PATH, query)
    sig = signature if signature is not None else sign(AUTH_TOKEN, url, form)
    r = client.post(f"{PATH}?{query}", data=form, headers={"X-Twilio-Signature": sig})
    return r.status_code


def test_delivered_and_undelivered_go_into_the_history(client: TestClient,
                                                       store: Store) -> None:
    ticket_id, note = planned(store)
    nt.settle(store.db, note.id, nt.SENT, at=AT, provider_ref=SID)
    assert report(client, note.id, "sent") == 204
    assert report(client, note.id, "delivered") == 204
    assert report(client, note.id, "delivered") == 204  # Twilio may report twice
    assert report(client, note.id, "undelivered", "30003") == 204
    entries = [h for h in store.get(ticket_id).history if h.kind]
    assert [h.kind for h in entries] == [HistoryKind.notified,
                                         HistoryKind.notification_failed]
    assert SID in (entries[0].note or "") and "delivered" in (entries[0].note or "")
    assert "30003" in (entries[1].note or "")


def test_a_report_settles_an_unknown_outcome(client: TestClient, store: Store) -> None:
    _, note = planned(store)
    nt.settle(store.db, note.id, nt.UNKNOWN, at=AT)
    assert report(client, note.id, "sent") == 204
    row = nt.get(store.db, note.id)
    assert row is not None and row.status == nt.SENT and row.provider_ref == SID


def test_forged_or_malformed_reports_are_refused(client: TestClient, store: Store) -> None:
    ticket_id, note = planned(store)
    before = store.get(ticket_id)
    assert report(client, note.id, "delivered", signature="bm90IGEgc2lnbmF0dXJl") == 403
    assert report(client, note.id, "deliv ered") == 400
    assert store.get(ticket_id) == before
