"""The store on SQLite and PostgreSQL: submit, idempotency, numbering, changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from tests.support.intakes import intake as make_intake
from tickets.model import Channel, Citizen, Intake, Kind, Status, Ticket
from tickets.store import Store, TicketNotFound, citizen_key
from tickets.tables import counters


def intake(ref: str = "m1", **kw: Any) -> Intake:
    """A complaint by SMS from one resident (the shared factory, with this file's defaults)."""
    return make_intake(ref, "楼道灯坏了", kind=Kind.complaint,
                       at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
                       **{"citizen": Citizen(phone="+8613800138000"), **kw})


def test_submit_creates_a_received_ticket(store: Store) -> None:
    result = store.submit(intake())
    t = result.ticket
    assert result.created
    assert t.status is Status.received
    assert len(t.number) == 10 and t.number.isdigit()
    assert t.seq >= 1
    assert t.history[0].status is Status.received
    assert store.get(t.id) == t
    assert store.get(t.number) == t


def test_repeat_returns_the_same_ticket_and_writes_nothing(store: Store) -> None:
    first = store.submit(intake()).ticket
    again = store.submit(intake())
    assert not again.created
    assert again.ticket == first
    assert store.feed(0, 100) == [first]


def test_same_ref_on_another_channel_is_another_ticket(store: Store) -> None:
    a = store.submit(intake("x")).ticket
    b = store.submit(intake("x", channel=Channel.wechat)).ticket
    assert a.id != b.id
    assert int(b.number) == int(a.number) + 1


def test_duplicate_submit_from_many_threads_yields_one_ticket(store: Store) -> None:
    barrier = threading.Barrier(12)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            r = store.submit(intake("dup-1"))
            results.append((r.ticket.id, r.created))
        except BaseException as exc:  # collected, asserted in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({tid for tid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(store.feed(0, 100)) == 1


def test_get_unknown_raises(store: Store) -> None:
    with pytest.raises(TicketNotFound):
        store.get("0" * 32)


def test_change_bumps_seq_and_moves_ticket_to_the_feed_end(store: Store) -> None:
    a = store.submit(intake("a")).ticket
    b = store.submit(intake("b")).ticket

    def note(t: Ticket, seq: int, at: datetime) -> Ticket:
        return t.model_copy(update={"category": "照明"})

    changed = store.change(a.id, note)
    assert changed.seq > b.seq
    assert [t.id for t in store.feed(0, 10)] == [b.id, a.id]
    assert store.feed(b.seq, 10) == [changed]


def test_no_change_uses_no_seq(store: Store) -> None:
    a = store.submit(intake("a")).ticket
    same = store.change(a.id, lambda t, seq, at: None)
    assert same == a
    assert store.feed(0, 10) == [a]


def test_numbers_keep_working_past_9999_a_day(store: Store) -> None:
    """The 10,000th ticket of a day gets 11 digits instead of failing every channel."""
    first = store.submit(intake("n-1")).ticket
    day = first.number[:6]
    with store.db.write() as conn:
        conn.execute(update(counters).where(counters.c.name == f"number:{day}")
                     .values(value=9998))
    last_short = store.submit(intake("n-9999")).ticket
    long = store.submit(intake("n-10000")).ticket
    assert last_short.number == f"{day}9999"
    assert long.number == f"{day}10000" and len(long.number) == 11
    assert store.get(long.number) == long


def test_an_id_or_number_that_is_neither_is_not_found_without_a_query(store: Store) -> None:
    for ref in ("", "123", "x" * 32, "1" * 17, "2611260001\n", "../etc"):
        with pytest.raises(TicketNotFound):
            store.get(ref)


def test_a_typed_phone_never_threads(store: Store) -> None:
    """Only numbers the channel proved (SMS sender, caller id) key a resident's tickets."""
    phone = Citizen(phone="+8613800138000")
    assert citizen_key(intake("w", channel=Channel.web, citizen=phone)) is None
    assert citizen_key(intake("a", channel=Channel.api, citizen=phone)) is None
    assert citizen_key(intake("s", channel=Channel.sms, citizen=phone)) == "phone:+8613800138000"
    assert citizen_key(intake("v", channel=Channel.voice, citizen=phone)) == "phone:+8613800138000"


def test_sqlite_commits_are_durable(sqlite_store: Store) -> None:
    """Issue 9: an acknowledged ticket must survive a power loss; WAL with synchronous=NORMAL
    could lose the last commits, FULL fsyncs each one."""
    with sqlite_store.db.read() as conn:
        mode = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert (mode, journal) == (2, "wal")  # 2 = FULL
