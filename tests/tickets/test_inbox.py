"""The operators' inbox (tickets/inbox.py) on SQLite and PostgreSQL: filters, search by number
and phone, keyset paging that stays stable while tickets arrive, counts, the caller's other
tickets, and the migration that fills the inbox columns of tickets written before it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import update

from tests.support.intakes import intake
from tickets import inbox
from tickets.db import Database
from tickets.inbox import BadCursor, Cursor, Filters, Search, search_terms
from tickets.migrate import alembic_config, upgrade
from tickets.model import (
    Channel,
    Citizen,
    Kind,
    Location,
    Routing,
    Status,
    Ticket,
    Transcript,
)
from tickets.store import Store
from tickets.tables import tickets

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
PHONE = "+8613800138000"


def submit(store: Store, ref: str, *, minutes: float = 0, text: str = "楼道灯不亮",
           **over: Any) -> Ticket:
    return store.submit(intake(ref, text, at=T0 + timedelta(minutes=minutes), **over)).ticket


def set_status(store: Store, ticket: Ticket, status: Status) -> Ticket:
    return store.change(ticket.id, lambda t, _s, _a: t.model_copy(update={"status": status}))


def numbers(rows: list[inbox.Summary]) -> list[str]:
    return [r.number for r in rows]


# -- pure parts ---------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "expected"), [
    ("2611260001", Search(number="2611260001", phone=None)),
    (" 2611 2600 01 ", Search(number="2611260001", phone=None)),
    # eleven digits could be either (the 10,000th ticket of a day has 11): both are searched
    ("13800138000", Search(number="13800138000", phone=PHONE)),
    ("138 0013 8000", Search(number="13800138000", phone=PHONE)),
    ("+86 138-0013-8000", Search(number=None, phone=PHONE)),
    ("(010) 6500-1234", Search(number="01065001234", phone="+861065001234")),
    ("楼道灯", Search(number=None, phone=None)),
    ("", Search(number=None, phone=None)),
])
def test_search_terms(typed: str, expected: Search) -> None:
    assert search_terms(typed) == expected
    assert expected.useful is (expected.number is not None or expected.phone is not None)


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    cursor = Cursor(T0, "a" * 32)
    assert Cursor.decode(cursor.encode()) == cursor
    naive = Cursor(T0.replace(tzinfo=None), "b" * 32).encode()
    assert Cursor.decode(naive) == Cursor(T0, "b" * 32)  # SQLite's UTC wall time
    for forged in ("", "xyz", "!!!!", Cursor(T0, "nope").encode(),
                   Cursor(T0, "a" * 32).encode()[:-3]):
        with pytest.raises(BadCursor):
            Cursor.decode(forged)


# -- on both stores -------------------------------------------------------------------------

def test_newest_first_with_a_summary_of_each(store: Store) -> None:
    old = submit(store, "a", minutes=0, kind=Kind.complaint, citizen=Citizen(phone=PHONE))
    new = submit(store, "b", minutes=5, text="  路灯\n不亮了  ")
    rows = inbox.page(store, Filters()).rows
    assert numbers(rows) == [new.number, old.number]
    first = rows[1]
    assert (first.id, first.channel, first.kind, first.status) == (
        old.id, Channel.sms, Kind.complaint, Status.received)
    assert first.received_at == T0 and first.phone == PHONE
    assert rows[0].excerpt == "路灯 不亮了"


def test_the_excerpt_is_short_and_falls_back_to_the_transcript(store: Store) -> None:
    long = submit(store, "long", text="井盖" * 200)
    heard = submit(store, "call", text="", channel=Channel.voice, minutes=1,
                   transcript=Transcript(text="东四三条的井盖丢了", model="vosk-model-cn"))
    rows = {r.id: r for r in inbox.page(store, Filters()).rows}
    assert len(rows[long.id].excerpt) == inbox.EXCERPT and rows[long.id].excerpt.endswith("…")
    assert rows[heard.id].excerpt == "东四三条的井盖丢了"


def test_each_filter(store: Store) -> None:
    sms = submit(store, "s1", kind=Kind.complaint)
    web = submit(store, "w1", channel=Channel.web, kind=Kind.consultation, minutes=1)
    wechat = submit(store, "c1", channel=Channel.wechat, minutes=2,
                    location=Location(street="DS", community="DC-DS-01"))
    set_status(store, web, Status.registered)

    def found(**f: Any) -> set[str]:
        return {r.id for r in inbox.page(store, Filters(**f)).rows}

    assert found(channel=Channel.web) == {web.id}
    assert found(kind=Kind.complaint) == {sms.id}
    assert found(status=Status.registered) == {web.id}
    assert found(status=Status.received) == {sms.id, wechat.id}
    assert found(street="DS") == {wechat.id}
    assert found(channel=Channel.sms, kind=Kind.help) == set()
    assert found(street="JS") == set()


def test_the_needs_a_person_filter_and_what_is_needed(store: Store) -> None:
    place = submit(store, "n1")
    both = submit(store, "n2", minutes=1)
    done = submit(store, "n3", minutes=2)
    plain = submit(store, "n4", minutes=3)  # never routed: no routing at all

    def routed(ticket: Ticket, needs: list[str]) -> None:
        store.change(ticket.id, lambda t, _s, _a: t.model_copy(
            update={"routing": Routing(needs=needs)}))  # type: ignore[arg-type]

    routed(place, ["place"])
    routed(both, ["place", "category"])
    routed(done, [])
    page = inbox.page(store, Filters(needs_person=True))
    assert {r.id: r.needs for r in page.rows} == {place.id: ["place"],
                                                  both.id: ["place", "category"]}
    everything = {r.id: r.needs for r in inbox.page(store, Filters()).rows}
    assert everything[done.id] == [] and everything[plain.id] == []
    assert sum(inbox.counts(store, Filters(needs_person=True)).values()) == 2


def test_the_date_range_is_of_local_days(store: Store) -> None:
    # 16:30 UTC on the 25th is 00:30 on the 26th in Beijing; 15:30 UTC is still the 25th
    late = store.submit(intake("late", at=datetime(2026, 11, 25, 16, 30, tzinfo=UTC))).ticket
    eve = store.submit(intake("eve", at=datetime(2026, 11, 25, 15, 30, tzinfo=UTC))).ticket
    nxt = store.submit(intake("next", at=datetime(2026, 11, 26, 16, 0, tzinfo=UTC))).ticket

    def found(start: date | None, end: date | None) -> set[str]:
        return {r.id for r in inbox.page(store, Filters(received_from=start,
                                                        received_to=end)).rows}

    day = date(2026, 11, 26)
    assert found(day, day) == {late.id}
    assert found(None, date(2026, 11, 25)) == {eve.id}
    assert found(day, None) == {late.id, nxt.id}
    assert found(date(2026, 11, 25), date(2026, 11, 27)) == {late.id, eve.id, nxt.id}


def test_search_by_number_or_by_phone_as_typed(store: Store) -> None:
    mine = submit(store, "m", citizen=Citizen(phone=PHONE))
    typed = submit(store, "w", channel=Channel.web, minutes=1, citizen=Citizen(phone=PHONE))
    other = submit(store, "o", minutes=2, citizen=Citizen(phone="+8613900139000"))

    def found(query: str, **f: Any) -> list[str]:
        return [r.id for r in inbox.page(store, Filters(query=query, **f)).rows]

    assert found(other.number) == [other.id]
    assert found(f" {other.number} ") == [other.id]
    # the phone a resident typed into the web form is found too
    assert found("138 0013 8000") == [typed.id, mine.id]
    assert found("+86 138-0013-8000", channel=Channel.sms) == [mine.id]
    assert found("楼道灯") == []
    assert found("0000000000") == []
    assert found("   ") == [other.id, typed.id, mine.id]  # blank: no search


def test_paging_walks_every_ticket_once_while_new_ones_arrive(store: Store) -> None:
    made = [submit(store, f"t{i}", minutes=i) for i in range(7)]
    # two tickets with the very same time: the id orders them
    made += [submit(store, "same-a", minutes=3), submit(store, "same-b", minutes=3)]
    expected = sorted(made, key=lambda t: (t.received_at, t.id), reverse=True)

    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = inbox.page(store, Filters(), after=after, limit=2)
        seen += [r.id for r in page.rows]
        pages += 1
        # tickets arriving between pages (newer, and one as old as the page's last row)
        submit(store, f"new{pages}", minutes=100 + pages)
        if page.rows:
            submit(store, f"late{pages}", minutes=-100 - pages)
        if page.next is None:
            break
        after = page.next
    assert seen[:len(expected)] == [t.id for t in expected]
    assert len(seen) == len(set(seen))  # nothing twice
    # the late ones older than every page already read appear at the end, once each
    assert all(r.startswith("late") for r in
               [store.get(i).channel_ref for i in seen[len(expected):]])


def test_a_full_last_page_has_no_next(store: Store) -> None:
    for i in range(4):
        submit(store, f"t{i}", minutes=i)
    first = inbox.page(store, Filters(), limit=2)
    assert first.next is not None
    second = inbox.page(store, Filters(), after=first.next, limit=2)
    assert len(second.rows) == 2 and second.next is None
    with pytest.raises(BadCursor):
        inbox.page(store, Filters(), after="garbage", limit=2)


def test_counts_by_status_ignore_the_status_filter(store: Store) -> None:
    a = submit(store, "a")
    submit(store, "b", minutes=1)
    submit(store, "c", minutes=2, channel=Channel.web)
    set_status(store, a, Status.registered)
    assert inbox.counts(store, Filters()) == {Status.received: 2, Status.registered: 1}
    assert inbox.counts(store, Filters(status=Status.registered)) == {
        Status.received: 2, Status.registered: 1}
    assert inbox.counts(store, Filters(channel=Channel.sms)) == {
        Status.received: 1, Status.registered: 1}
    assert inbox.counts(store, Filters(query="nothing")) == {}


def test_caller_history_is_the_same_proven_caller(store: Store) -> None:
    first = submit(store, "a", citizen=Citizen(phone=PHONE))
    call = submit(store, "call-1", channel=Channel.voice, minutes=5, citizen=Citizen(phone=PHONE))
    submit(store, "web", channel=Channel.web, minutes=6, citizen=Citizen(phone=PHONE))
    submit(store, "other", minutes=7, citizen=Citizen(phone="+8613900139000"))
    now = submit(store, "call-2", channel=Channel.voice, minutes=10, citizen=Citizen(phone=PHONE))
    assert numbers(inbox.caller_history(store, now)) == [call.number, first.number]
    assert numbers(inbox.caller_history(store, first)) == [now.number, call.number]
    assert numbers(inbox.caller_history(store, now, limit=1)) == [call.number]
    anonymous = submit(store, "anon", channel=Channel.voice, minutes=11)
    submit(store, "anon2", channel=Channel.voice, minutes=12)
    assert inbox.caller_history(store, anonymous) == []
    web = store.find_by_ref("web", "web")
    assert web is not None and inbox.caller_history(store, web) == []


def test_the_migration_fills_the_columns_of_earlier_tickets(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db)
    store = Store(db)
    t = submit(store, "old", kind=Kind.report, citizen=Citizen(phone=PHONE))
    blank = submit(store, "blank", minutes=1, channel=Channel.web)
    with db.write() as conn:
        conn.execute(update(tickets).values(kind=None, phone=None))
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    upgrade(db)
    rows = {r.id: r for r in inbox.page(store, Filters()).rows}
    assert (rows[t.id].kind, rows[t.id].phone) == (Kind.report, PHONE)
    assert (rows[blank.id].kind, rows[blank.id].phone) == (Kind.help, None)
    assert [r.id for r in inbox.page(store, Filters(query="13800138000")).rows] == [t.id]
    db.dispose()
