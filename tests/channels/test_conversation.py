"""The conversation rule: pure decisions on literal tickets, then applied to a real store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from channels.conversation import (
    FOLLOW_UP_WINDOW,
    Action,
    append_follow_up,
    decide,
    handle,
    rating,
)
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from hotline.app import create_app
from tests.channels.twilio_sms.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL
from tests.channels.twilio_sms.conftest import settings as twilio_settings
from tests.support.intakes import T0, intake
from tickets import tables
from tickets.events import TicketEvent, apply_event
from tickets.jobs import Job
from tickets.model import Attachment, Channel, Citizen, Location, Status, Ticket
from tickets.store import Store

PHONE = "+8613800138000"
RESIDENT = Citizen(phone=PHONE)


def ticket(status: Status, at: datetime = T0, ref: str = "SM-old", **over: object) -> Ticket:
    return Ticket.model_validate({
        "id": "a" * 32, "number": "2611260001", "seq": 1, "channel": "sms", "channel_ref": ref,
        "received_at": at, "updated_at": at, "citizen": {"phone": PHONE}, "kind": "unknown",
        "text": "楼道灯不亮", "transcript": None, "attachments": [], "location": None,
        "status": status, "history": [], **over,
    })


@pytest.mark.parametrize("text,score", [
    ("1", 1), ("5", 5), (" 3 ", 3), ("４", 4), ("0", None), ("6", None), ("55", None),
    ("5分", None), ("", None),
])
def test_rating_accepts_one_digit_one_to_five(text: str, score: int | None) -> None:
    assert rating(text) == score


def test_no_previous_ticket_is_new() -> None:
    assert decide(intake("SM1", at=T0, citizen=RESIDENT), None).action is Action.new


def test_digit_after_closed_ticket_is_an_evaluation() -> None:
    d = decide(intake("SM2", "5", at=T0 + timedelta(days=3), citizen=RESIDENT),
               ticket(Status.closed))
    assert (d.action, d.score, d.repeat) == (Action.evaluate, 5, False)


@pytest.mark.parametrize("status", [Status.received, Status.in_progress, Status.resolved,
                                    Status.evaluated, Status.rejected])
def test_digit_is_no_evaluation_unless_the_ticket_waits_for_one(status: Status) -> None:
    d = decide(intake("SM2", "5", at=T0 + timedelta(days=3), citizen=RESIDENT), ticket(status))
    assert d.action is Action.new


def test_digit_with_photo_is_no_evaluation() -> None:
    photo = [Attachment(url="https://api.twilio.com/m/1", content_type="image/jpeg")]
    d = decide(intake("SM2", "5", at=T0 + timedelta(days=3), citizen=RESIDENT,
                      attachments=photo),
               ticket(Status.closed))
    assert d.action is Action.new


@pytest.mark.parametrize("status", [Status.received, Status.registered])
def test_message_within_window_of_open_ticket_is_follow_up(status: Status) -> None:
    d = decide(intake("SM3", at=T0 + FOLLOW_UP_WINDOW, citizen=RESIDENT), ticket(status))
    assert d.action is Action.follow_up


def test_message_after_window_is_new() -> None:
    d = decide(intake("SM3", at=T0 + FOLLOW_UP_WINDOW + timedelta(seconds=1),
                      citizen=RESIDENT),
               ticket(Status.received))
    assert d.action is Action.new


def test_dispatched_ticket_takes_no_follow_up() -> None:
    d = decide(intake("SM3", at=T0 + timedelta(minutes=1), citizen=RESIDENT),
               ticket(Status.dispatched))
    assert d.action is Action.new


def test_repeat_of_the_message_that_made_the_ticket() -> None:
    d = decide(intake("SM-old", at=T0, citizen=RESIDENT), ticket(Status.registered))
    assert (d.action, d.repeat) == (Action.new, True)


def test_follow_up_appends_once_and_window_restarts() -> None:
    old = ticket(Status.received, location=None)
    where = Location(lat=39.9, lon=116.4)
    photo = Attachment(url="https://api.twilio.com/m/2", content_type="image/png")
    follow = intake("SM4", "在3号楼", at=T0 + timedelta(minutes=20), citizen=RESIDENT,
                    attachments=[photo], location=where)
    changed = append_follow_up(old, follow, 2, T0 + timedelta(minutes=20))
    assert changed is not None
    assert changed.text == "楼道灯不亮\n在3号楼"
    assert changed.attachments == [photo] and changed.location == where
    assert changed.history[-1].event_id == "sms:SM4"
    assert append_follow_up(changed, follow, 3, T0) is None
    # 45 min after the first message but 25 min after the follow-up: still the same thread
    d = decide(intake("SM5", at=T0 + timedelta(minutes=45), citizen=RESIDENT), changed)
    assert d.action is Action.follow_up
    again = decide(follow, changed)
    assert (again.action, again.repeat) == (Action.follow_up, True)


def test_repeat_of_an_evaluation_reports_the_score() -> None:
    closed = ticket(Status.closed)
    rate = intake("SM6", "4", at=T0 + timedelta(days=1), citizen=RESIDENT)
    event = TicketEvent(actor="resident:sms", event_id="sms:SM6", status=Status.evaluated,
                        evaluation={"score": 4, "channel": "sms"})
    evaluated = apply_event(closed, event, 5, T0 + timedelta(days=1))
    assert evaluated is not None
    d = decide(rate, evaluated)
    assert (d.action, d.score, d.repeat) == (Action.evaluate, 4, True)


# -- applied to a real store (SQLite and PostgreSQL) -------------------------------------------

def _close(store: Store, ticket_id: str) -> None:
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved,
                   Status.closed):
        event = TicketEvent(actor="test", status=status)

        def mutate(t: Ticket, seq: int, at: datetime, e: TicketEvent = event) -> Ticket | None:
            return apply_event(t, e, seq, at)

        store.change(ticket_id, mutate)


def test_handle_new_follow_up_then_rating(store: Store) -> None:
    now = datetime.now(UTC)
    jobs_seen: list[str] = []

    def jobs(ticket_id: str) -> Sequence[Job]:
        jobs_seen.append(ticket_id)
        return ()

    first = handle(store, intake("SM10", at=now, citizen=RESIDENT), jobs)
    assert (first.action, first.repeat) == (Action.new, False)
    follow = handle(store, intake("SM11", "还有电梯也坏了", at=now + timedelta(minutes=5),
                                   citizen=RESIDENT), jobs)
    assert follow.action is Action.follow_up and follow.ticket.id == first.ticket.id
    assert follow.ticket.text.endswith("还有电梯也坏了")
    # the new ticket's jobs are asked for with its id (known inside the insert), then the
    # follow-up's with the ticket it joins
    assert jobs_seen == [first.ticket.id, first.ticket.id]
    again = handle(store, intake("SM11", "还有电梯也坏了", at=now + timedelta(minutes=5),
                                   citizen=RESIDENT))
    assert again.repeat and again.ticket.id == first.ticket.id
    assert len(store.get(first.ticket.id).history) == 2

    _close(store, first.ticket.id)
    rated = handle(store, intake("SM12", "5", at=now + timedelta(days=2), citizen=RESIDENT))
    assert (rated.action, rated.score) == (Action.evaluate, 5)
    final = store.get(first.ticket.id)
    assert final.status is Status.evaluated and final.evaluation is not None
    assert (final.evaluation.score, final.evaluation.channel) == (5, Channel.sms)
    repeat = handle(store, intake("SM12", "5", at=now + timedelta(days=2), citizen=RESIDENT))
    assert (repeat.action, repeat.repeat, repeat.score) == (Action.evaluate, True, 5)
    assert store.get(first.ticket.id).seq == final.seq
    # a later digit after the rating is a new (if odd) message, not a second rating
    later = handle(store, intake("SM13", "5", at=now + timedelta(days=3), citizen=RESIDENT))
    assert later.action is Action.new and later.ticket.id != first.ticket.id
    assert len(store.feed(0, 100)) == 2


def test_concurrent_repeats_of_a_follow_up_and_a_rating_apply_once(store: Store) -> None:
    now = datetime.now(UTC)
    first = handle(store, intake("SM20", at=now, citizen=RESIDENT)).ticket
    follow = intake("SM21", "补充：3号楼", at=now + timedelta(minutes=1), citizen=RESIDENT)
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda _: handle(store, follow), range(3)))
    assert {o.ticket.id for o in outcomes} == {first.id}
    assert [h.event_id for h in store.get(first.id).history].count("sms:SM21") == 1
    _close(store, first.id)
    rate = intake("SM22", "2", at=now + timedelta(days=1), citizen=RESIDENT)
    with ThreadPoolExecutor(3) as pool:
        rated = list(pool.map(lambda _: handle(store, rate), range(3)))
    assert {(o.action, o.score) for o in rated} == {(Action.evaluate, 2)}
    final = store.get(first.id)
    assert final.status is Status.evaluated
    assert [h.event_id for h in final.history].count("sms:SM22") == 1
    assert len(store.feed(0, 100)) == 1


# -- only numbers the channel proved thread (issue 9, item 10) --------------------------------

def test_a_phone_typed_into_the_web_form_threads_no_sms(store: Store) -> None:
    """Anyone can type any number into the form: it must not pull a later SMS from that
    number into the web ticket, nor let that SMS rate it."""
    now = datetime.now(UTC)
    typed = Citizen(phone=PHONE, name="王女士", consent_to_contact=True)
    web = store.submit(intake("web-sid-1", "井盖丢了", channel=Channel.web, at=now,
                              citizen=typed)).ticket
    sms = handle(store, intake("SM30", "补充：在3号楼", at=now + timedelta(minutes=2),
                               citizen=RESIDENT))
    assert (sms.action, sms.repeat) == (Action.new, False)
    assert sms.ticket.id != web.id and sms.ticket.channel is Channel.sms
    assert store.get(web.id).text == "井盖丢了" and len(store.get(web.id).history) == 1

    _close(store, web.id)
    digit = handle(store, intake("SM31", "1", at=now + timedelta(hours=1), citizen=RESIDENT))
    assert digit.action is not Action.evaluate and digit.ticket.id != web.id
    assert store.get(web.id).status is Status.closed and store.get(web.id).evaluation is None


def test_the_proven_sms_number_still_threads(store: Store) -> None:
    """The same number as an SMS sender (proven by the carrier) does thread."""
    now = datetime.now(UTC)
    first = handle(store, intake("SM40", at=now, citizen=RESIDENT)).ticket
    follow = handle(store, intake("SM41", "在3号楼", at=now + timedelta(minutes=2),
                                  citizen=RESIDENT))
    assert (follow.action, follow.ticket.id) == (Action.follow_up, first.id)


def test_web_form_then_sms_from_the_typed_number_through_the_app(
        store: Store, tmp_path: Path) -> None:
    """End to end: a resident's form with a phone number, then an SMS from that number two
    minutes later: the SMS is acknowledged with a ticket of its own."""
    app = create_app(twilio_settings(tmp_path, web_secret="web-secret-for-tests-0123456789ab"),
                     store=store, redis_url="")
    html = {"accept": "text/html"}
    # https: with an https public URL the form's cookie is Secure
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/report", headers=html)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token, page.text
        form = {"csrf": token.group(1), "kind": "complaint", "description": "幸福路井盖丢失",
                "phone": "138 0013 8000", "consent": "on"}
        done = c.post("/report", data=form, headers=html,
                      files=[("photos", ("", b"", "application/octet-stream"))])
        assert done.status_code == 200, done.text
        [web] = store.feed(0, 10)
        assert web.channel is Channel.web and web.citizen.phone == PHONE

        config = TwilioConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                              public_url=PUBLIC_URL)
        path, headers, sms_form = sample_request(config, "补充：晚上很危险", PHONE, "SM50")
        r = c.post(path, data=sms_form, headers=headers)
    assert r.status_code == 200, r.text
    sms = store.find_by_ref("sms", "SM50")
    assert sms is not None and sms.id != web.id
    assert f"工单号{sms.number}" in r.text and web.number not in r.text
    assert store.get(web.id).text == "幸福路井盖丢失"
    assert len(store.feed(0, 10)) == 2


def test_a_follow_up_has_the_ticket_routed_again(store: Store) -> None:
    # The first message names no place (the router waits for a person); the follow-up within
    # the window names it: a second dispatch job is written with the follow-up.
    now = datetime.now(UTC)
    first = handle(store, intake("SM20", "路灯坏了", at=now, citizen=RESIDENT))
    handle(store, intake("SM21", "在东四三条", at=now + timedelta(minutes=3), citizen=RESIDENT))
    with store.db.read() as conn:
        jobs = conn.execute(select(tables.outbox.c.job).where(
            tables.outbox.c.ticket_id == first.ticket.id)).scalars().all()
    assert jobs == ["router.dispatch.dispatch", "router.dispatch.dispatch"]
