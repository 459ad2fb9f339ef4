"""Residents answering the verification questions and opting out by SMS, through the signed
webhook over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
from starlette.testclient import TestClient

from channels.closing import is_opt_out
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from tests.support.intakes import intake
from tickets import notifications as nt
from tickets.events import TicketEvent, apply_event
from tickets.model import Citizen, Loop, Satisfaction, Status, Ticket
from tickets.store import Store

PHONE = "+8613912345678"


def say(client: TestClient, config: TwilioConfig, text: str, sid: str) -> str:
    path, headers, form = sample_request(config, text, "13912345678", sid)
    r = client.post(path, data=form, headers=headers)
    assert r.status_code == 200, r.text
    return str(SafeET.fromstring(r.content).findtext("Message"))


def resolved(store: Store, ref: str) -> Ticket:
    t = store.submit(intake(ref, citizen=Citizen(phone=PHONE))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="已修复")
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    return t


def test_one_then_one_is_evaluated(client: TestClient, store: Store,
                                   twilio_config: TwilioConfig) -> None:
    t = resolved(store, "SMa")
    first = say(client, twilio_config, "１", "SM200")
    assert f"工单{t.number}已办结" in first and "您对办理结果满意吗" in first
    assert store.get(t.id).status is Status.closed
    second = say(client, twilio_config, "1", "SM201")
    assert f"感谢您对工单{t.number}的评价" in second
    done = store.get(t.id)
    assert done.status is Status.evaluated and done.evaluation is not None
    assert done.evaluation.satisfaction is Satisfaction.satisfied
    third = say(client, twilio_config, "1", "SM202")
    assert t.number in third
    assert store.get(t.id) == done  # a third "1" changes nothing, and files nothing
    assert len(store.feed(0, 100)) == 1


def test_a_retry_of_the_same_message_reads_the_first_answer(
        client: TestClient, store: Store, twilio_config: TwilioConfig) -> None:
    """Twilio retries a webhook whose answer it did not get (the resident saw nothing), and
    the spool keeps a message the stalled request applied late: the repeat of the very
    message reads what its first delivery would have, and changes nothing."""
    t = resolved(store, "SMr")
    first = say(client, twilio_config, "1", "SM700")
    closed = store.get(t.id)
    assert say(client, twilio_config, "1", "SM700") == first
    assert f"工单{t.number}已办结" in first and store.get(t.id) == closed
    assert "无需重复" in say(client, twilio_config, "已解决", "SM701")  # the resident again


def test_not_solved_twice_goes_to_the_big_loop(client: TestClient, store: Store,
                                                twilio_config: TwilioConfig) -> None:
    t = resolved(store, "SMb")
    assert "重新办理" in say(client, twilio_config, "2 灯还是不亮", "SM300")
    again = TicketEvent(actor="street:DS", status=Status.resolved, note="再次维修")
    store.change(t.id, lambda c, s, a: apply_event(c, again, s, a))
    assert "区级指挥中心" in say(client, twilio_config, "未解决", "SM301")
    final = store.get(t.id)
    assert final.status is Status.in_progress and final.reopened == 2
    assert final.loop is Loop.big


def test_answer_naming_a_ticket_and_messages_that_are_not_answers(
        client: TestClient, store: Store, twilio_config: TwilioConfig) -> None:
    a = resolved(store, "SMc")
    b = resolved(store, "SMd")
    say(client, twilio_config, f"1 {a.number}", "SM400")
    assert store.get(a.id).status is Status.closed
    assert store.get(b.id).status is Status.resolved
    # a new matter is filed as a new ticket, not taken for an answer
    ack = say(client, twilio_config, "3号楼门口垃圾没人清理", "SM401")
    assert "工单号" in ack
    assert len(store.feed(0, 100)) == 3


def test_opt_out(client: TestClient, store: Store, twilio_config: TwilioConfig) -> None:
    assert "退订" in say(client, twilio_config, "ＴＤ", "SM500")
    assert nt.opted_out(store.db, f"phone:{PHONE}")
    assert store.feed(0, 10) == []  # an opt-out files nothing


def test_opt_out_words() -> None:
    assert all(is_opt_out(w) for w in ("TD", "td", " ＴＤ ", "退订", "退订。"))
    assert not any(is_opt_out(w) for w in ("TDX", "不要退订", "路灯"))


def test_loop_of_unknown_number(client: TestClient, store: Store,
                                twilio_config: TwilioConfig) -> None:
    other = store.submit(intake("SMe", citizen=Citizen(phone="+8613700137000"))).ticket
    text = say(client, twilio_config, f"1 {other.number}", "SM600")
    assert "未找到" in text
    assert store.get(other.id).status is Status.received
