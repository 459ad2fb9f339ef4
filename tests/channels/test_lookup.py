"""Status by text ("查询 2612070001"): known queries, and personal details only for the
ticket's own proven sender (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from channels.lookup import queried_number, reply_to
from tests.support.intakes import intake
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, Status
from tickets.store import Store


@pytest.mark.parametrize(("text", "number"), [
    ("查询 2612070001", "2612070001"), ("查询2612070001", "2612070001"),
    ("2612070001", "2612070001"), (" ２６１２０７０００１ ", "2612070001"),
    ("查进度 26120700012", "26120700012"), ("进度：2612070001", "2612070001"),
    ("查询", None), ("1 2612070001", None), ("查询 261207", None), ("井盖丢了", None),
    ("查询 2612070001 谢谢", None),
])
def test_queries(text: str, number: str | None) -> None:
    assert queried_number(text) == number


def test_status_step_and_unit_note_and_own_text(store: Store) -> None:
    t = store.submit(intake("q1", "东四三条井盖丢了", citizen=Citizen(
        phone="+8613800138000"))).ticket
    for status, note in ((Status.registered, None), (Status.dispatched, None),
                         (Status.in_progress, "已安排人员处理")):
        e = TicketEvent(actor="street:DS", status=status, note=note)
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    stranger = reply_to(store, f"查询 {t.number}", "phone:+8613900139000")
    assert stranger is not None
    assert t.number in stranger and "正在办理" in stranger and "第4步 任务处理" in stranger
    assert "已安排人员处理" in stranger
    assert "井盖" not in stranger  # what the resident wrote is theirs alone
    own = reply_to(store, t.number, "phone:+8613800138000")
    assert own is not None and "东四三条井盖丢了" in own
    web = store.submit(intake("q2", "私事", channel=Channel.web,
                              citizen=Citizen(phone="+8613800138000"))).ticket
    typed = reply_to(store, web.number, "phone:+8613800138000")
    assert typed is not None and "私事" not in typed  # a typed number proves nothing
    missing = reply_to(store, "查询 9912319999", None)
    assert missing is not None and "没有找到" in missing
    assert reply_to(store, "路灯不亮", None) is None
