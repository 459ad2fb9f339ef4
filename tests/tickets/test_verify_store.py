"""The resident's answers on the store (SQLite and PostgreSQL): solved → closed → evaluated,
not solved → reopened → big loop, unanswered, late, repeated and out-of-order answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.intakes import intake
from tickets.answers import Answer, Question
from tickets.events import TicketEvent, apply_event
from tickets.model import (
    Channel,
    Citizen,
    Destination,
    HistoryKind,
    Loop,
    Routing,
    Satisfaction,
    Status,
    Ticket,
)
from tickets.store import Store
from tickets.tables import deliveries, outbox
from tickets.verification import NotClosable, Result
from tickets.verify_store import (
    answer_text,
    ask,
    close_unanswered,
    find_answerable,
    record_answer,
    unanswered,
)

PHONE = "+8613800138000"
KEY = f"phone:{PHONE}"
SMS = Channel.sms


def move(store: Store, ticket: Ticket, *statuses: Status, note: str | None = None) -> Ticket:
    for status in statuses:
        event = TicketEvent(actor="street:DS", status=status, note=note)
        ticket = store.change(ticket.id, lambda t, s, a, e=event: apply_event(t, e, s, a))
    return ticket


def resolved(store: Store, ref: str = "m1", phone: str = PHONE) -> Ticket:
    """A ticket of ``phone`` that street DS resolved with a reply."""
    t = store.submit(intake(ref, citizen=Citizen(phone=phone))).ticket
    t = store.change(t.id, lambda c, s, a: c.model_copy(update={
        "loop": Loop.small,
        "routing": Routing(destinations=[Destination(id="street:DS", status="delivered")])}))
    t = move(store, t, Status.registered, Status.dispatched, Status.in_progress)
    return move(store, t, Status.resolved, note="灯已修好")


def test_solved_then_satisfied(store: Store) -> None:
    t = resolved(store)
    ask(store, t.id, Question.solved, channel=SMS)
    # the next question goes out as its own message (ask_next=False: the notifications ask)
    out = answer_text(store, KEY, "１", channel=SMS, key="sms:a1", ask_next=False)
    assert out is not None and out.result is Result.recorded
    assert out.ticket is not None and out.ticket.status is Status.closed
    assert out.next_question is Question.satisfaction
    assert out.ticket.evaluation is not None and out.ticket.evaluation.solved is True
    # the same digit again before the satisfaction question went out: still "solved"
    again = answer_text(store, KEY, "1", channel=SMS, key="sms:a2", ask_next=False)
    assert again is not None and again.result is Result.repeat
    ask(store, t.id, Question.satisfaction, channel=SMS)
    rated = answer_text(store, KEY, "2", channel=SMS, key="sms:a3")
    assert rated is not None and rated.result is Result.recorded
    final = store.get(t.id)
    assert final.status is Status.evaluated
    assert final.evaluation is not None
    assert final.evaluation.solved is True
    assert final.evaluation.satisfaction is Satisfaction.basically_satisfied
    assert final.evaluation.channel is SMS
    kinds = [h.kind for h in final.history if h.kind]
    assert kinds == [HistoryKind.asked, HistoryKind.answered, HistoryKind.asked,
                     HistoryKind.answered]
    # a third "1": the ticket is evaluated and said solved: a repeat, nothing changes
    third = answer_text(store, KEY, "1", channel=SMS, key="sms:a4")
    assert third is not None and third.result is Result.repeat
    assert store.get(t.id) == final
    # a provider retry of a message already taken
    retry = answer_text(store, KEY, "2", channel=SMS, key="sms:a3")
    assert retry is not None and retry.result is Result.repeat


def test_not_solved_reopens_then_big_loop(store: Store) -> None:
    t = resolved(store)
    ask(store, t.id, Question.solved, channel=SMS)
    out = answer_text(store, KEY, "2，灯还是不亮", channel=SMS, key="sms:n1")
    assert out is not None and out.result is Result.recorded and not out.big_loop
    t1 = store.get(t.id)
    assert t1.status is Status.in_progress and t1.reopened == 1 and t1.loop is Loop.small
    assert t1.evaluation is not None and t1.evaluation.solved is False
    assert t1.evaluation.comment == "灯还是不亮"
    assert t1.history[-1].kind is HistoryKind.reopened
    assert "灯还是不亮" in (t1.history[-1].note or "")
    # a second "2" while it is back with the unit: refused politely, nothing changes
    late = answer_text(store, KEY, "2", channel=SMS, key="sms:n2")
    assert late is not None and late.result is Result.reopened_meanwhile
    assert store.get(t.id) == t1
    # the unit resolves it again, the resident is asked again and says "not solved" again
    move(store, t1, Status.resolved, note="已再次维修")
    ask(store, t.id, Question.solved, channel=SMS)
    second = answer_text(store, KEY, "未解决", channel=SMS, key="sms:n3")
    assert second is not None and second.big_loop
    t2 = store.get(t.id)
    assert t2.status is Status.in_progress and t2.reopened == 2 and t2.loop is Loop.big
    assert t2.routing is not None
    assert [d.id for d in t2.routing.destinations] == ["street:DS", "district"]
    with store.db.read() as conn:
        planned = conn.execute(select(deliveries.c.destination)
                               .where(deliveries.c.ticket_id == t.id)).scalars().all()
        jobs = conn.execute(select(outbox.c.job, outbox.c.args)
                            .where(outbox.c.ticket_id == t.id)).all()
    assert planned == ["district"]
    assert ("delivery.drain.drain", ["district"]) in [(j.job, j.args) for j in jobs]


def test_satisfaction_before_solved_is_kept(store: Store) -> None:
    t = resolved(store)
    early = record_answer(store, t.id, Answer.of_satisfaction(Satisfaction.satisfied),
                          channel=Channel.web, key="web:1")
    assert early.result is Result.recorded and early.next_question is Question.solved
    assert store.get(t.id).status is Status.resolved
    done = record_answer(store, t.id, Answer.of_solved(True), channel=Channel.web, key="web:2")
    assert done.ticket is not None and done.ticket.status is Status.evaluated
    assert done.next_question is None
    statuses = [h.status for h in done.ticket.history if h.status]
    assert statuses[-2:] == [Status.closed, Status.evaluated]


def test_unclear_digit(store: Store) -> None:
    t = resolved(store)
    out = answer_text(store, KEY, "3", channel=SMS, key="sms:u1")
    assert out is not None and out.result is Result.unclear
    assert store.get(t.id).status is Status.resolved


def test_number_picks_the_ticket_and_must_be_the_residents(store: Store) -> None:
    a = resolved(store, "a")
    b = resolved(store, "b")
    ask(store, a.id, Question.solved, channel=SMS)
    ask(store, b.id, Question.solved, channel=SMS)
    # without a number the answer goes to the ticket last asked about
    found = find_answerable(store, KEY)
    assert found is not None and found.id == b.id
    out = answer_text(store, KEY, f"1 {a.number}", channel=SMS, key="sms:x1")
    assert out is not None and out.ticket is not None and out.ticket.id == a.id
    assert store.get(a.id).status is Status.closed
    assert store.get(b.id).status is Status.resolved
    other = resolved(store, "c", phone="+8613900139000")
    refused = answer_text(store, KEY, f"1 {other.number}", channel=SMS, key="sms:x2")
    assert refused is not None and refused.result is Result.unknown_ticket
    assert refused.ticket is None
    assert store.get(other.id).status is Status.resolved


def test_not_an_answer_is_left_to_the_conversation(store: Store) -> None:
    resolved(store)
    assert answer_text(store, KEY, "3号楼又漏水了", channel=SMS, key="sms:m1") is None
    assert answer_text(store, "phone:+8613700137000", "1", channel=SMS, key="sms:m2") is None


def test_unanswered_close_and_late_answers(store: Store) -> None:
    t = resolved(store)
    asked = ask(store, t.id, Question.solved, channel=SMS)
    at = asked.history[-1].at
    with pytest.raises(NotClosable):
        close_unanswered(store, t.id, actor="operator:li", now=at + timedelta(days=2))
    assert unanswered(store, now=at + timedelta(days=2)) == []
    later = at + timedelta(days=3, minutes=1)
    assert [x.id for x in unanswered(store, now=later)] == [t.id]
    closed = close_unanswered(store, t.id, actor="operator:li", now=later)
    assert closed.status is Status.closed
    assert closed.history[-1].kind is HistoryKind.closed_unanswered
    assert closed.history[-1].note == "未回复"
    # an answer 15 days after the question is too late; one within 14 days is taken
    too_late = record_answer(store, t.id, Answer.of_solved(False), channel=SMS, key="sms:l1",
                             now=at + timedelta(days=15))
    assert too_late.result is Result.too_late
    taken = record_answer(store, t.id, Answer.of_solved(False), channel=SMS, key="sms:l2",
                          now=at + timedelta(days=10))
    assert taken.result is Result.recorded
    reopened = store.get(t.id)
    assert reopened.status is Status.in_progress and reopened.reopened == 1


def test_closed_unanswered_then_solved_asks_satisfaction(store: Store) -> None:
    t = resolved(store)
    now = datetime.now(UTC) + timedelta(days=4)
    close_unanswered(store, t.id, actor="backoffice", now=now)
    out = record_answer(store, t.id, Answer.of_solved(True), channel=SMS, key="sms:s1")
    assert out.ticket is not None and out.ticket.status is Status.closed
    assert out.next_question is Question.satisfaction


def test_ask_is_recorded_once_per_round(store: Store) -> None:
    t = resolved(store)
    first = ask(store, t.id, Question.solved, channel=SMS)
    again = ask(store, t.id, Question.solved, channel=SMS)
    assert again.seq == first.seq
    # the satisfaction question is not pending yet: nothing recorded
    assert ask(store, t.id, Question.satisfaction, channel=SMS).seq == first.seq


def test_not_waiting(store: Store) -> None:
    t = store.submit(intake("w", citizen=Citizen(phone=PHONE))).ticket
    out = record_answer(store, t.id, Answer.of_solved(True), channel=SMS, key="sms:w")
    assert out.result is Result.not_waiting
    assert store.get(t.id) == t


def test_the_reply_asks_the_next_question(store: Store) -> None:
    """An SMS/WeChat reply or the web page puts the next question itself: recorded as asked
    in the answer's own change, so a second "1" answers it."""
    t = resolved(store)
    out = answer_text(store, KEY, "1", channel=SMS, key="sms:r1")
    assert out is not None and out.next_question is Question.satisfaction
    assert out.ticket is not None and out.ticket.history[-1].kind is HistoryKind.asked
    second = answer_text(store, KEY, "1", channel=SMS, key="sms:r2")
    assert second is not None and second.result is Result.recorded
    assert second.next_question is None
    final = store.get(t.id)
    assert final.status is Status.evaluated
    assert final.evaluation is not None
    assert final.evaluation.satisfaction is Satisfaction.satisfied
