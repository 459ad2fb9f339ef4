"""The dispatch job (router/dispatch.py) on SQLite and PostgreSQL: a received ticket is
registered and routed, its deliveries planned with the change and their drains in the outbox;
an unknown place waits for a person; running it again changes nothing; without a router it only
registers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from delivery.drain import drain
from delivery.records import PENDING, routing_version
from hotline.worker import WorkerContext
from router.classify import Model
from router.context import Router
from router.dispatch import dispatch
from router.routerconfig import RouterConfig
from router.routing import summary
from tests.support.intakes import intake
from tickets.jobs import path_of
from tickets.model import Decided, Kind, Location, Loop, Routing, Status, Ticket
from tickets.store import Store
from tickets.tables import deliveries, outbox

MANHOLE = "东四三条12号门口的井盖丢了，晚上很危险"
NOWHERE = "楼下的井盖丢了，晚上很危险"


@pytest.fixture
def ctx(store: Store, tmp_path: Path, config: RouterConfig, model: Model) -> WorkerContext:
    return WorkerContext(store=store, media_dir=tmp_path / "media", router=Router(config, model))


def submitted(store: Store, text: str, ref: str = "m1", **over: Any) -> Ticket:
    return store.submit(intake(ref, text, **over)).ticket


def planned(store: Store, ticket_id: str) -> list[tuple[str, str, int]]:
    with store.db.read() as conn:
        return [(r.destination, r.status, r.version) for r in conn.execute(
            select(deliveries).where(deliveries.c.ticket_id == ticket_id)
            .order_by(deliveries.c.id))]


def jobs(store: Store, ticket_id: str) -> list[tuple[str, list[Any]]]:
    with store.db.read() as conn:
        return [(r.job, r.args) for r in conn.execute(
            select(outbox).where(outbox.c.ticket_id == ticket_id).order_by(outbox.c.id))]


def test_dispatch_routes_a_ticket(ctx: WorkerContext) -> None:
    t = submitted(ctx.store, MANHOLE, kind=Kind.complaint)
    assert dispatch(ctx, t.id) == "registered"
    routed = ctx.store.get(t.id)
    assert routed.status is Status.registered
    assert routed.location is not None and routed.location.street == "DS"
    assert routed.location.community == "DC-DS-01"
    assert routed.category == "municipal.manhole" and routed.department == "东城区城市管理委员会"
    assert routed.loop is Loop.small and routed.priority == 2  # 井盖丢了: an open hazard
    assert routed.kind is Kind.complaint
    routing = routed.routing
    assert routing is not None and routing.needs == []
    assert routing.place == Decided(source="gazetteer", confidence=1.0, detail="东四三条")
    assert routing.respond_by is not None and routing.resolve_by is not None
    assert [(d.id, d.status) for d in routing.destinations] == [("street:DS", "pending")]

    registered, decision = routed.history[-2:]
    assert registered.status is Status.registered and registered.from_status is Status.received
    assert registered.actor == decision.actor == "router"
    assert decision.note is not None and decision.note == summary(routing, ["street:DS"])
    assert decision.note.startswith("place: 东四三条 (gazetteer); category: ")
    assert decision.note.endswith("; to street:DS")

    assert planned(ctx.store, t.id) == [("street:DS", PENDING, routing_version(routed))]
    assert (path_of(drain), ["street:DS"]) in jobs(ctx.store, t.id)


def test_a_big_loop_ticket_goes_to_the_district_and_the_department(ctx: WorkerContext) -> None:
    t = submitted(ctx.store, "东四三条12号楼暖气不热，家里才十五度")
    dispatch(ctx, t.id)
    routed = ctx.store.get(t.id)
    assert routed.loop is Loop.big and routed.category == "heating.supply"
    assert [d for d, _, _ in planned(ctx.store, t.id)] == ["district", "dept:dept.heating"]
    drains = [args for job, args in jobs(ctx.store, t.id) if job == path_of(drain)]
    assert drains == [["district"], ["dept:dept.heating"]]


def test_an_unknown_place_waits_registered_without_deliveries(ctx: WorkerContext) -> None:
    t = submitted(ctx.store, NOWHERE)
    assert dispatch(ctx, t.id) == "registered"
    waiting = ctx.store.get(t.id)
    assert waiting.status is Status.registered
    assert waiting.routing is not None and waiting.routing.needs == ["place"]
    assert waiting.routing.destinations == []
    assert waiting.category == "municipal.manhole"  # what could be decided is
    assert waiting.history[-1].note is not None
    assert waiting.history[-1].note.endswith("waits for a person: needs place")
    assert planned(ctx.store, t.id) == []
    assert [job for job, _ in jobs(ctx.store, t.id) if job == path_of(drain)] == []


def test_running_it_twice_changes_nothing(ctx: WorkerContext) -> None:
    for ref, text in (("twice-1", MANHOLE), ("twice-2", NOWHERE)):
        t = submitted(ctx.store, text, ref)
        first = dispatch(ctx, t.id)
        after = ctx.store.get(t.id)
        rows, written = planned(ctx.store, t.id), jobs(ctx.store, t.id)
        assert dispatch(ctx, t.id) == first
        again = ctx.store.get(t.id)
        assert again.seq == after.seq and again.history == after.history, ref
        assert planned(ctx.store, t.id) == rows and jobs(ctx.store, t.id) == written


def test_without_a_router_it_only_registers(ctx: WorkerContext, store: Store,
                                            tmp_path: Path) -> None:
    bare = WorkerContext(store=store, media_dir=tmp_path / "media")
    t = submitted(store, MANHOLE)
    assert dispatch(bare, t.id) == "registered"
    registered = store.get(t.id)
    assert registered.status is Status.registered and registered.routing is None
    assert registered.category is None and registered.loop is None
    assert [h.status for h in registered.history] == [Status.received, Status.registered]
    assert planned(store, t.id) == []
    assert dispatch(bare, t.id) == "registered" and store.get(t.id).seq == registered.seq
    # a worker with a router routes it later, without registering it twice
    assert dispatch(ctx, t.id) == "registered"
    routed = store.get(t.id)
    assert routed.routing is not None and routed.routing.destinations
    assert [h.status for h in routed.history] == [Status.received, Status.registered, None]
    assert routing_version(routed) == 1


def test_a_place_set_by_a_person_lets_it_go_on(ctx: WorkerContext) -> None:
    t = submitted(ctx.store, NOWHERE)
    dispatch(ctx, t.id)

    def operator_places(current: Ticket, seq: int, at: Any) -> Ticket:
        routing = (current.routing or Routing()).model_copy(
            update={"place": Decided(source="operator", confidence=1.0, detail="坐席")})
        return current.model_copy(update={"location": Location(street="QM", address="大江胡同"),
                                          "routing": routing})

    ctx.store.change(t.id, operator_places)
    dispatch(ctx, t.id)
    routed = ctx.store.get(t.id)
    assert routed.routing is not None and routed.routing.needs == []
    assert routed.routing.place and routed.routing.place.source == "operator"
    assert [d for d, _, _ in planned(ctx.store, t.id)] == ["street:QM"]


def test_the_third_complaint_about_a_place_goes_to_the_big_loop(ctx: WorkerContext,
                                                                config: RouterConfig) -> None:
    texts = ["东四三条路灯不亮，黑灯瞎火的", "东四三条胡同里没灯，大晚上的摔了一跤",
             "东四三条那个路灯坏了好几天"]
    assert config.rules.repeat.count == 3
    loops = []
    for i, text in enumerate(texts):
        t = submitted(ctx.store, text, f"rep-{i}")
        dispatch(ctx, t.id)
        loops.append(ctx.store.get(t.id))
    assert [t.category for t in loops] == ["municipal.streetlight"] * 3
    assert [t.loop for t in loops] == [Loop.small, Loop.small, Loop.big]
    third = loops[-1]
    assert third.routing is not None and third.routing.loop is not None
    assert third.routing.loop.source == "repeat"
    assert [d for d, _, _ in planned(ctx.store, third.id)] == \
        ["district", "dept:dept.urban-management"]


def test_a_ticket_past_registration_is_left_alone(ctx: WorkerContext) -> None:
    t = submitted(ctx.store, MANHOLE)

    def rejected(current: Ticket, seq: int, at: Any) -> Ticket:
        return current.model_copy(update={"status": Status.rejected, "reject_reason": "test"})

    ctx.store.change(t.id, rejected)
    before = ctx.store.get(t.id)
    assert dispatch(ctx, t.id) == "rejected"
    assert ctx.store.get(t.id).seq == before.seq and planned(ctx.store, t.id) == []
