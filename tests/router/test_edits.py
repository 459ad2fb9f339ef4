"""An operator's edit and a ticket opened at the console (router/edits.py): the place rules
(pure, known answers), then on SQLite and PostgreSQL one change with one history entry naming
the person, stale and locked tickets refused with nothing written, the dispatch job written
with an edit before dispatch, and the normal router path keeping what the person decided."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from hotline.worker import WorkerContext
from router.classify import Model
from router.context import Router
from router.dispatch import dispatch
from router.edits import (
    Edit,
    InvalidEdit,
    NewTicket,
    Place,
    StaleEdit,
    Uneditable,
    edit_ticket,
    new_ticket,
    resolve_place,
)
from router.routerconfig import RouterConfig
from tests.support.intakes import intake
from tickets.jobs import path_of
from tickets.model import (
    Channel,
    Citizen,
    Decided,
    Kind,
    Location,
    Status,
    Ticket,
)
from tickets.store import Store
from tickets.tables import outbox

ACTOR = "operator:lihua"
PHONE = "+8613800138000"


def form(ticket: Ticket, **over: Any) -> Edit:
    """The form as the page shows it for ``ticket`` (nothing changed), with ``over``."""
    loc = ticket.location or Location()
    values: dict[str, Any] = {
        "seq": ticket.seq, "text": ticket.text, "kind": ticket.kind, "address": loc.address,
        "street": loc.street, "community": loc.community, "grid": loc.grid,
        "category": ticket.category, "note": None}
    return Edit.model_validate({**values, **over})


def dispatch_jobs(store: Store, ticket_id: str) -> int:
    with store.db.read() as conn:
        return len(conn.execute(select(outbox.c.id).where(
            outbox.c.ticket_id == ticket_id, outbox.c.job == path_of(dispatch))).all())


def edit(store: Store, config: RouterConfig, ticket: Ticket, **over: Any) -> Ticket:
    return edit_ticket(store, config.places, config.catalogue, ticket.number,
                       form(ticket, **over), ACTOR)


# -- the place rules (pure) ---------------------------------------------------------------

@pytest.mark.parametrize(("wanted", "current", "expected"), [
    # the finest level names the coarser ones
    (Place(grid="DC-DS-0101"), Place(), Place("DS", "DC-DS-01", "DC-DS-0101")),
    (Place(community="DC-JS-02"), Place(), Place("JS", "DC-JS-02", None)),
    (Place(street="QM"), Place(), Place("QM", None, None)),
    (Place(), Place("DS", "DC-DS-01", "DC-DS-0101"), Place()),
    # a new grid cell wins over the street and community the form still shows
    (Place("DS", "DC-DS-01", "DC-JS-0201"), Place("DS", "DC-DS-01", "DC-DS-0101"),
     Place("JS", "DC-JS-02", "DC-JS-0201")),
    # a new street drops the old community and cell
    (Place("JS", "DC-DS-01", "DC-DS-0101"), Place("DS", "DC-DS-01", "DC-DS-0101"),
     Place("JS", None, None)),
    # a new street and community drop only the old cell
    (Place("JS", "DC-JS-02", "DC-DS-0101"), Place("DS", "DC-DS-01", "DC-DS-0101"),
     Place("JS", "DC-JS-02", None)),
    # a cleared cell keeps the community
    (Place("DS", "DC-DS-01", None), Place("DS", "DC-DS-01", "DC-DS-0101"),
     Place("DS", "DC-DS-01", None)),
])
def test_resolve_place(config: RouterConfig, wanted: Place, current: Place,
                       expected: Place) -> None:
    assert resolve_place(config.places, wanted, current) == expected


@pytest.mark.parametrize(("wanted", "field", "problem"), [
    (Place(grid="DC-DS-9999"), "grid", "unknown"),
    (Place(community="DC-XX-01"), "community", "unknown"),
    (Place(street="NOPE"), "street", "unknown"),
    # both changed, and they disagree
    (Place(street="QM", grid="DC-DS-0101"), "street", "conflict"),
    (Place(community="DC-JS-01", grid="DC-DS-0101"), "community", "conflict"),
])
def test_resolve_place_refuses(config: RouterConfig, wanted: Place, field: str,
                               problem: str) -> None:
    with pytest.raises(InvalidEdit) as refused:
        resolve_place(config.places, wanted, Place())
    assert (refused.value.field, refused.value.problem) == (field, problem)


def test_the_form_is_cleaned() -> None:
    e = Edit(seq=3, text="第一行\r\n第二行\r", street="  ", category="", note=" 已回电 ")
    assert (e.text, e.street, e.category, e.note) == ("第一行\n第二行\n", None, None, "已回电")
    for bad in ({"text": "a\x00b"}, {"text": "长" * 20_001}, {"street": "x" * 65},
                {"note": "n" * 2001}, {"seq": -1}, {"kind": "urgent"}, {"extra": 1}):
        with pytest.raises(ValidationError):
            Edit.model_validate({"seq": 1, **bad})


# -- on both stores -------------------------------------------------------------------------

def test_an_edit_is_one_change_with_one_entry_naming_the_person(store: Store,
                                                                 config: RouterConfig) -> None:
    t = store.submit(intake("m1", "楼下井盖丢了", kind=Kind.unknown)).ticket
    edited = edit(store, config, t, text="东四三条12号门口井盖丢了", kind=Kind.complaint,
                  grid="DC-DS-0101", category="municipal.manhole", note="已告知居民注意安全")
    assert edited.seq == t.seq + 1 and store.current_seq() == edited.seq
    assert len(edited.history) == len(t.history) + 1
    entry = edited.history[-1]
    assert entry.actor == ACTOR and entry.seq == edited.seq and entry.status is None
    assert entry.at == edited.updated_at
    assert entry.note == (
        "text corrected (was: 楼下井盖丢了); kind: unknown → complaint; "
        "place: none → DS / DC-DS-01 / DC-DS-0101; "
        "category: none → municipal.manhole; note: 已告知居民注意安全")
    assert edited.text == "东四三条12号门口井盖丢了" and edited.kind is Kind.complaint
    assert edited.location == Location(street="DS", community="DC-DS-01", grid="DC-DS-0101")
    assert edited.category == "municipal.manhole"
    assert edited.department == "东城区城市管理委员会"
    routing = edited.routing
    assert routing is not None
    operator = Decided(source="operator", confidence=1.0)
    assert routing.place == operator.model_copy(update={"detail": "DC-DS-0101"})
    assert routing.category == operator.model_copy(update={"detail": "municipal.manhole"})
    assert routing.kind == operator.model_copy(update={"detail": "complaint"})
    assert store.get(t.id) == edited
    # the submit's dispatch job and the edit's
    assert dispatch_jobs(store, t.id) == 2


def test_a_save_that_changes_nothing_writes_nothing(store: Store, config: RouterConfig) -> None:
    t = store.submit(intake("m1", "第一行\r\n第二行", location=Location(address=" 东四 "))).ticket
    # the browser sends CRLF and the page trims the address: still no change
    same = edit(store, config, t, text="第一行\r\n第二行", address="东四")
    assert same == t and store.current_seq() == t.seq
    assert dispatch_jobs(store, t.id) == 1


def test_a_note_alone_is_recorded_without_routing_again(store: Store,
                                                        config: RouterConfig) -> None:
    t = store.submit(intake("m1")).ticket
    noted = edit(store, config, t, note="居民要求下午回电")
    assert noted.history[-1].note == "note: 居民要求下午回电"
    assert noted.text == t.text and dispatch_jobs(store, t.id) == 1


def test_a_stale_save_is_refused_and_writes_nothing(store: Store, config: RouterConfig) -> None:
    t = store.submit(intake("m1", "路灯不亮")).ticket
    seen = form(t, text="路灯坏了")
    other = edit(store, config, t, kind=Kind.complaint)  # somebody else saved first
    with pytest.raises(StaleEdit) as refused:
        edit_ticket(store, config.places, config.catalogue, t.number, seen, "operator:wang")
    assert refused.value.current == other and refused.value.seen == t.seq
    assert store.get(t.id) == other and store.current_seq() == other.seq


@pytest.mark.parametrize("status", [Status.merged, Status.closed, Status.evaluated,
                                    Status.rejected])
def test_finished_tickets_are_not_edited(store: Store, config: RouterConfig,
                                         status: Status) -> None:
    t = store.submit(intake("m1")).ticket
    kept = store.submit(intake("m2")).ticket.id if status is Status.merged else None
    done = store.change(t.id, lambda c, _s, _a: c.model_copy(
        update={"status": status, "merged_into": kept}))
    with pytest.raises(Uneditable, match=status.value):
        edit(store, config, done, note="还想补充")
    assert store.get(t.id) == done


def test_an_edit_past_dispatch_is_recorded_but_not_routed_again(store: Store,
                                                                config: RouterConfig) -> None:
    t = store.submit(intake("m1")).ticket
    handling = store.change(t.id, lambda c, _s, _a: c.model_copy(
        update={"status": Status.in_progress}))
    edited = edit(store, config, handling, category="municipal.streetlight")
    assert edited.category == "municipal.streetlight" and edited.status is Status.in_progress
    assert dispatch_jobs(store, t.id) == 1


@pytest.mark.parametrize(("over", "field"), [
    ({"category": "no.such-thing"}, "category"),
    ({"street": "NOPE"}, "street"),
    ({"grid": "DC-DS-0101", "street": "QM"}, "street"),
])
def test_unknown_codes_are_refused_and_nothing_is_written(store: Store, config: RouterConfig,
                                                          over: dict[str, str],
                                                          field: str) -> None:
    t = store.submit(intake("m1")).ticket
    with pytest.raises(InvalidEdit) as refused:
        edit(store, config, t, text="改过的文字", **over)
    assert refused.value.field == field
    assert store.get(t.id) == t


def test_clearing_what_the_router_decided_hands_it_back(store: Store,
                                                       config: RouterConfig) -> None:
    t = store.submit(intake("m1", location=Location(street="DS", lat=39.93, lon=116.42))).ticket
    placed = edit(store, config, t, street="JS", category="municipal.streetlight")
    assert placed.location == Location(street="JS", lat=39.93, lon=116.42)
    cleared = edit(store, config, placed, street=None, category=None)
    assert cleared.location == Location(lat=39.93, lon=116.42)  # the resident's point is kept
    assert cleared.category is None and cleared.department is None
    assert cleared.routing is not None
    assert cleared.routing.place is None and cleared.routing.category is None


def test_the_router_keeps_what_the_operator_decided(store: Store, config: RouterConfig,
                                                    model: Model, tmp_path: Path) -> None:
    ctx = WorkerContext(store=store, media_dir=tmp_path / "media", router=Router(config, model))
    # a draft the IVR made for the operator: nothing to route on
    draft = store.submit(intake("call-1", "", channel=Channel.voice, kind=Kind.unknown,
                                citizen=Citizen(phone=PHONE))).ticket
    assert dispatch(ctx, draft.id) == "registered"
    waiting = store.get(draft.id)
    assert waiting.routing is not None and waiting.routing.needs == ["place", "category"]

    edited = edit(store, config, waiting, text="居民反映楼道里的灯坏了一个月", kind=Kind.help,
                  grid="DC-JS-0201", category="sanitation.garbage")
    assert dispatch(ctx, draft.id) == "registered"
    routed = store.get(draft.id)
    assert routed.routing is not None and routed.routing.needs == []
    assert routed.category == "sanitation.garbage"  # not what the text says: the person chose
    assert edited.routing is not None and routed.routing.category == edited.routing.category
    assert routed.location is not None and routed.location.street == "JS"
    assert routed.routing.place is not None and routed.routing.place.source == "operator"
    assert [d.id for d in routed.routing.destinations] == ["street:JS"]
    assert routed.kind is Kind.help
    assert [h.actor for h in routed.history] == ["channel:voice", "router", "router", ACTOR,
                                                 "router"]


def test_new_ticket_for_a_call_answered_directly(store: Store) -> None:
    ref = uuid.uuid4()
    new = NewTicket(ref=ref, phone="138 0013 8000", name="王女士", kind=Kind.complaint,
                    text="小区门口占道经营\r\n很吵", address="东四三条", note="居民很着急")
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    result = new_ticket(store, new, ACTOR, now=at)
    t = result.ticket
    assert result.created
    assert (t.channel, t.channel_ref, t.received_at) == (Channel.voice, f"console:{ref}", at)
    assert t.citizen == Citizen(phone=PHONE, name="王女士")
    assert (t.kind, t.text) == (Kind.complaint, "小区门口占道经营\n很吵")
    assert t.location == Location(address="东四三条")
    assert [h.actor for h in t.history] == ["channel:voice", ACTOR]
    assert t.history[-1].note == ("opened at the console by operator:lihua for a call answered "
                                  "directly; note: 居民很着急")
    assert store.get(t.id) == t and dispatch_jobs(store, t.id) == 1
    again = new_ticket(store, new, ACTOR, now=at)  # the form sent twice
    assert not again.created and again.ticket == t


@pytest.mark.parametrize(("over", "field"), [({"phone": "12345"}, "phone"),
                                             ({"text": "  \r\n "}, "text")])
def test_new_ticket_refuses_a_bad_phone_or_no_text(store: Store, over: dict[str, str],
                                                   field: str) -> None:
    new = NewTicket.model_validate({"ref": str(uuid.uuid4()), "text": "路灯不亮", **over})
    with pytest.raises(InvalidEdit) as refused:
        new_ticket(store, new, ACTOR)
    assert refused.value.field == field
    assert store.current_seq() == 0


def test_new_ticket_without_a_phone(store: Store) -> None:
    new = NewTicket(ref=uuid.uuid4(), phone="", text="匿名来电：路灯不亮")
    t = new_ticket(store, new, ACTOR).ticket
    assert t.citizen == Citizen() and t.kind is Kind.unknown
