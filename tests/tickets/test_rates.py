"""tickets/rates.py on a seeded history with a fixed clock; every expected number below was
worked out by hand from the timeline in the comments (local times, Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets import rates
from tickets.model import (
    Channel,
    Citizen,
    Destination,
    Evaluation,
    HistoryEntry,
    HistoryKind,
    Kind,
    Routing,
    Satisfaction,
    Status,
    Ticket,
)
from tickets.store import Store

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=TZ)  # just after the end of November
NOVEMBER = rates.period_of("month", date(2026, 11, 15), TZ)
S, K = Status, HistoryKind


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


Step = tuple[datetime, Status | None, HistoryKind | None, str]


def ticket(n: int, received: datetime, steps: list[Step], units: list[str], *,
           respond_by: datetime | None, resolve_by: datetime | None,
           category: str = "municipal.streetlight", evaluation: Evaluation | None = None,
           reopened: int = 0, status: Status | None = None) -> Ticket:
    history = [HistoryEntry(seq=1, at=received, actor="channel:sms", status=S.received)]
    previous = S.received
    for i, (when, new, kind, actor) in enumerate(steps, start=2):
        history.append(HistoryEntry(seq=i, at=when, actor=actor, status=new, kind=kind,
                                    from_status=previous if new else None))
        previous = new or previous
    return Ticket(
        id=f"{n:032x}", number=f"261110{n:04d}", seq=len(history), channel=Channel.sms,
        channel_ref=f"m{n}", received_at=received, updated_at=history[-1].at,
        citizen=Citizen(), kind=Kind.help, text="路灯不亮", transcript=None, attachments=[],
        location=None, category=category, status=status or previous, history=history,
        evaluation=evaluation, reopened=reopened,
        routing=Routing(respond_by=respond_by, resolve_by=resolve_by,
                        destinations=[Destination(id=u, status="delivered") for u in units]))


def answered(solved: bool | None, satisfaction: Satisfaction | None) -> Evaluation:
    return Evaluation(solved=solved, satisfaction=satisfaction, channel=Channel.sms,
                      at=at(28, 12))


R = "router"
DS = "street:DS/ds"


def seeded() -> list[Ticket]:
    return [
        # T1 DS: registered +5 min, dispatched +5, acknowledged 50 min later (due 11:10: in
        # time), resolved 23 h 10 min after that (due 13th: in time); solved, 满意
        ticket(1, at(10, 9), [(at(10, 9, 5), S.registered, None, R),
                              (at(10, 9, 10), S.dispatched, None, R),
                              (at(10, 10), S.in_progress, None, DS),
                              (at(11, 9, 10), S.resolved, None, DS),
                              (at(12, 9), S.closed, None, "resident"),
                              (at(12, 9, 5), S.evaluated, None, "resident")],
               ["street:DS"], respond_by=at(10, 11, 10), resolve_by=at(13, 9, 10),
               evaluation=answered(True, Satisfaction.satisfied)),
        # T2 DS: +10 min, +10 min, acknowledged 3 h later (due 14:20: late), resolved
        # 45 h later, reopened by the resident, resolved again on the 14th 12:20 (due 13th
        # 12:20: late); the last answer: solved, 基本满意
        ticket(2, at(10, 12), [(at(10, 12, 10), S.registered, None, R),
                               (at(10, 12, 20), S.dispatched, None, R),
                               (at(10, 15, 20), S.in_progress, None, DS),
                               (at(12, 12, 20), S.resolved, None, DS),
                               (at(12, 20), S.in_progress, K.reopened, "resident"),
                               (at(14, 12, 20), S.resolved, None, DS),
                               (at(15, 9), S.closed, None, "resident")],
               ["street:DS"], respond_by=at(10, 14, 20), resolve_by=at(13, 12, 20),
               evaluation=answered(True, Satisfaction.basically_satisfied), reopened=1),
        # T3 DS: +30 min, +30 min, never acknowledged (both deadlines passed before NOW)
        ticket(3, at(20, 8), [(at(20, 8, 30), S.registered, None, R),
                              (at(20, 9), S.dispatched, None, R)],
               ["street:DS"], respond_by=at(20, 11), resolve_by=at(23, 9)),
        # T4: DS sends it back 20 min after dispatch; the center dispatches it to DHM, which
        # acknowledges 30 min later (due 13:00) and resolves the next day (due 24th); closed
        # without an answer
        ticket(4, at(21, 10), [(at(21, 10, 10), S.registered, None, R),
                               (at(21, 10, 20), S.dispatched, None, R),
                               (at(21, 10, 40), S.registered, K.sent_back, DS),
                               (at(21, 11), S.dispatched, None, R),
                               (at(21, 11, 30), S.in_progress, None, "street:DHM/x"),
                               (at(22, 11), S.resolved, None, "street:DHM/x"),
                               (at(25, 11), S.closed, K.closed_unanswered, "router")],
               ["street:DHM"], respond_by=at(21, 13), resolve_by=at(24, 11)),
        # T5: merged into T1 — left out everywhere
        ticket(5, at(10, 9, 30), [(at(10, 9, 31), S.registered, None, R),
                                  (at(10, 9, 32), S.merged, None, R)],
               ["street:DS"], respond_by=at(10, 11), resolve_by=at(13, 9)),
        # T6 DS: received at 23:30 on the last day of November (15:30 UTC); +1 min, +1 min;
        # not acknowledged, due 01:32 on December 1st, after NOW: pending
        ticket(6, at(30, 23, 30), [(at(30, 23, 31), S.registered, None, R),
                                   (at(30, 23, 32), S.dispatched, None, R)],
               ["street:DS"], respond_by=at(1, 1, 32, month=12),
               resolve_by=at(4, 0, month=12)),
        # T7 DS: received at local midnight of December 1st (Nov 30th 16:00 UTC): December's
        ticket(7, at(1, 0, month=12), [(at(1, 0, 1, month=12), S.registered, None, R),
                                       (at(1, 0, 2, month=12), S.dispatched, None, R)],
               ["street:DS"], respond_by=at(1, 2, month=12), resolve_by=at(4, 0, month=12)),
        # T8 big loop, the health department: +5, +5, acknowledged 30 min later (due 12:10),
        # resolved a day later (due 18th); solved, 不满意
        ticket(8, at(15, 10), [(at(15, 10, 5), S.registered, None, R),
                               (at(15, 10, 10), S.dispatched, None, R),
                               (at(15, 10, 40), S.in_progress, None, "dept:dept.health/h"),
                               (at(16, 10, 10), S.resolved, None, "dept:dept.health/h"),
                               (at(17, 10), S.closed, None, "resident")],
               ["dept:dept.health"], respond_by=at(15, 12, 10), resolve_by=at(18, 10, 10),
               category="health.clinic",
               evaluation=answered(True, Satisfaction.dissatisfied)),
    ]


def in_period(period: rates.Period) -> list[Ticket]:
    return [t for t in seeded() if period.start <= t.received_at < period.end]


def pair(rate: rates.Rate) -> tuple[int, int]:
    return rate.num, rate.den


def test_periods_have_local_edges() -> None:
    assert (NOVEMBER.start, NOVEMBER.end) == (at(1, 0), at(1, 0, month=12))
    assert NOVEMBER.start.astimezone(UTC) == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    day = rates.period_of("day", date(2026, 11, 30), TZ)
    assert [t.number for t in in_period(day)] == ["2611100006"]
    week = rates.period_of("week", date(2026, 12, 3), TZ)  # Monday Nov 30th – Sunday Dec 6th
    assert week.first == date(2026, 11, 30)
    assert [t.number for t in in_period(week)] == ["2611100006", "2611100007"]
    assert [t.number for t in in_period(NOVEMBER)] == [f"261110000{i}" for i in
                                                       (1, 2, 3, 4, 5, 6, 8)]
    february = rates.period_of("month", date(2028, 2, 29), TZ)
    assert (february.first, february.end.date()) == (date(2028, 2, 1), date(2028, 3, 1))


def test_the_units_figures_by_hand() -> None:
    table = rates.compute(in_period(NOVEMBER), NOW, "unit")
    assert set(table) == {"street:DS", "street:DHM", "dept:dept.health"}
    ds = table["street:DS"]
    assert ds.assignments == 5  # T1 T2 T3 T4 (sent back) T6
    assert pair(ds.sent_back) == (1, 5)
    assert pair(ds.response) == (1, 3)  # T1 in time; T2 late; T3 never; T6 pending
    assert pair(ds.solved) == (2, 2) and ds.unanswered == 0
    assert pair(ds.satisfied) == (2, 2)  # 满意 + 基本满意
    assert pair(ds.on_time) == (1, 3)  # T1; T2 resolved late; T3 overdue; T6 pending
    assert pair(ds.reopened) == (1, 2)  # T2 of T1, T2
    assert ds.median("register") == pytest.approx(7.5 / 60)  # 1, 5, 10, 30 min
    assert ds.median("dispatch") == pytest.approx(7.5 / 60)
    assert ds.median("acknowledge") == pytest.approx((50 + 180) / 2 / 60)
    assert ds.median("resolve") == pytest.approx((23 + 10 / 60 + 45) / 2)
    assert ds.score == pytest.approx(0.1 / 3 + 0.45 + 0.45)

    dhm = table["street:DHM"]
    assert (dhm.assignments, pair(dhm.sent_back), pair(dhm.response)) == (1, (0, 1), (1, 1))
    assert pair(dhm.solved) == (0, 0) and dhm.unanswered == 1
    assert pair(dhm.on_time) == (1, 1) and pair(dhm.reopened) == (0, 1)
    assert dhm.median("acknowledge") == pytest.approx(0.5)  # from the second dispatch
    assert dhm.median("dispatch") == pytest.approx(10 / 60)
    assert dhm.median("resolve") == pytest.approx(23.5)
    assert dhm.score == pytest.approx(1.0)  # only the response rate has a denominator

    health = table["dept:dept.health"]
    assert (pair(health.response), pair(health.solved), pair(health.satisfied)) == (
        (1, 1), (1, 1), (0, 1))
    assert health.score == pytest.approx(0.55)
    assert [g.key for g in rates.ranking(table)] == ["street:DHM", "street:DS",
                                                     "dept:dept.health"]


def test_the_district_and_categories() -> None:
    district = rates.compute(in_period(NOVEMBER), NOW, "all")[rates.ALL]
    assert district.assignments == 6  # T5 merged, T7 December
    assert pair(district.sent_back) == (1, 6)
    assert pair(district.response) == (3, 5)  # T1 T4 T8 of T1 T2 T3 T4 T8
    assert pair(district.solved) == (3, 3) and district.unanswered == 1
    assert pair(district.satisfied) == (2, 3)
    assert pair(district.on_time) == (3, 5)  # T1 T4 T8; T2 late, T3 overdue
    categories = rates.compute(in_period(NOVEMBER), NOW, "category")
    assert {k: v.assignments for k, v in categories.items()} == {
        "municipal.streetlight": 5, "health.clinic": 1}
    streets = rates.compute(in_period(NOVEMBER), NOW, "unit",
                            keep=lambda key: key.startswith("street:"))
    assert set(streets) == {"street:DS", "street:DHM"}


def test_the_clock_decides_what_is_pending() -> None:
    later = datetime(2026, 12, 1, 2, 0, tzinfo=TZ)  # T6's respond-by (01:32) has passed
    ds = rates.compute(in_period(NOVEMBER), later, "unit")["street:DS"]
    assert pair(ds.response) == (1, 4)


def test_received_in_reads_the_period_from_the_store(store: Store) -> None:
    from tests.support.intakes import intake

    inside = store.submit(intake("in", at=at(30, 23, 59))).ticket
    store.submit(intake("out", at=at(1, 0, month=12)))
    store.submit(intake("before", at=at(1, 0) - timedelta(seconds=1)))
    assert [t.id for t in rates.received_in(store, NOVEMBER)] == [inside.id]


def test_received_in_compares_instants_not_wall_clocks(store: Store) -> None:
    """Intakes stamped in UTC against a period bounded by local midnights: SQLite keeps
    datetimes without their offset, so the bounds are bound in UTC (tickets/timestamps.py);
    before that, 00:30 on 1 December in Beijing counted for November there."""
    from tests.support.intakes import intake

    december = rates.period_of("month", date(2026, 12, 15), TZ)
    late_night = store.submit(intake("n", at=datetime(2026, 11, 30, 15, 30, tzinfo=UTC))).ticket
    after_midnight = store.submit(
        intake("d", at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))).ticket
    assert [t.id for t in rates.received_in(store, NOVEMBER)] == [late_night.id]
    assert [t.id for t in rates.received_in(store, december)] == [after_midnight.id]
