"""The store on SQLite and PostgreSQL: submit, idempotency, numbering, changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from router.model import Channel, Citizen, Intake, Kind, Status, Ticket
from router.store import Store, TicketNotFound


def intake(ref: str = "m1", **kw: object) -> Intake:
    return Intake(
        channel=kw.pop("channel", Channel.sms),  # type: ignore[arg-type]
        channel_ref=ref,
        received_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        citizen=Citizen(phone="+8613800138000"),
        kind=Kind.complaint,
        text="楼道灯坏了",
        **kw,  # type: ignore[arg-type]
    )


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
