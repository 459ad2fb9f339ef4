"""Duplicates (router/duplicates.py): text similarity, the same place, the verdict; and on both
stores, through the dispatch job, a second ticket about the same matter merged into the open
one, a similar one linked, a different matter or place left alone — and the resident of a
merged ticket still able to follow the survivor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from hotline.worker import WorkerContext
from router import routing
from router.classify import Model
from router.context import Router
from router.dispatch import dispatch
from router.duplicates import (
    bigrams,
    distance_m,
    judge,
    open_tickets_nearby,
    repeats,
    same_place,
    similarity,
)
from router.routerconfig import RouterConfig
from router.rules import Duplicates
from tests.router.tickets import ticket
from tests.support.intakes import intake
from tickets import apikeys
from tickets import store as store_module
from tickets.apikeys import Scope
from tickets.model import Channel, Location, Status, Ticket
from tickets.store import Store
from tickets.tables import deliveries, outbox

RULES = Duplicates(hours=72, radius_m=150, related=0.35, merge=0.75)
FIRST = "东四三条12号门口的井盖丢了，晚上很危险"
SAME = "东四三条12号门口井盖丢了 晚上很危险"  # 0.84 alike
SIMILAR = "东四三条12号门口的井盖丢了，谁来管管"  # 0.59 alike
DS_CELL = "DC-DS-0101"


# -- similarity, place, verdict (pure) ----------------------------------------------------------
def test_similarity_of_texts() -> None:
    assert similarity(FIRST, FIRST) == 1.0
    assert similarity(FIRST, FIRST + "！！") == 1.0  # punctuation and spaces do not count
    assert similarity("井盖 丢了", "井盖丢了。") == 1.0
    assert similarity(FIRST, SAME) >= RULES.merge
    assert RULES.related <= similarity(FIRST, SIMILAR) < RULES.merge
    assert similarity(FIRST, "簋街晚上烧烤油烟太大") < RULES.related
    assert similarity(FIRST, "") == similarity("", "") == similarity("！", "？") == 0.0
    assert similarity("灯", "灯") == 1.0  # one character is its own "bigram"
    assert bigrams("井盖 丢了!") == {"井盖", "盖丢", "丢了"}
    assert similarity(FIRST, SAME) == similarity(SAME, FIRST)


def test_distance() -> None:
    assert distance_m(39.9, 116.4, 39.9, 116.4) == 0.0
    assert distance_m(39.0, 116.4, 40.0, 116.4) == pytest.approx(111_195, rel=1e-3)
    # 0.001° of longitude at Beijing's latitude is about 85 m
    assert distance_m(39.93, 116.41, 39.93, 116.411) == pytest.approx(85.3, abs=1)


def at(**kw: object) -> Ticket:
    return ticket(FIRST, location=Location.model_validate(kw))


def test_same_place() -> None:
    assert same_place(at(grid="G1"), at(grid="G1"), 150)
    # different cells are different places, however close the points
    assert not same_place(at(grid="G1", lat=39.93, lon=116.41), at(grid="G2", lat=39.93,
                                                                   lon=116.41), 150)
    assert same_place(at(lat=39.93, lon=116.41), at(lat=39.93, lon=116.411), 150)
    assert not same_place(at(lat=39.93, lon=116.41), at(lat=39.93, lon=116.413), 150)
    assert same_place(at(grid="G1", lat=39.93, lon=116.41), at(lat=39.93, lon=116.411), 150)
    assert same_place(at(street="DS"), at(street="DS"), 150)
    assert not same_place(at(street="DS"), at(street="BXQ"), 150)
    assert not same_place(at(), at(), 150)  # nothing known: never the same
    assert not same_place(ticket(FIRST), at(street="DS"), 150)


def test_judge_merges_links_or_leaves_alone() -> None:
    new = at(street="DS")
    same, similar = ticket(SAME, location=Location(street="DS")), \
        ticket(SIMILAR, location=Location(street="DS"))
    assert judge(new, [similar, same], RULES).action == "merge"
    verdict = judge(new, [similar, same], RULES)
    assert verdict.other == same and verdict.score == round(similarity(FIRST, SAME), 3)
    related = judge(new, [similar], RULES)
    assert related.action == "related" and related.other == similar
    assert judge(new, [ticket("簋街晚上烧烤油烟太大", location=Location(street="DS"))],
                 RULES).action == "none"
    assert judge(new, [], RULES).action == "none"


def test_judge_skips_itself_merged_tickets_and_other_places() -> None:
    new = at(street="DS")
    assert judge(new, [new], RULES).action == "none"
    merged = ticket(SAME, location=Location(street="DS"), merged_into="f" * 32)
    elsewhere = ticket(SAME, location=Location(street="BXQ"))
    assert judge(new, [merged, elsewhere], RULES).action == "none"


def test_the_transcript_counts_as_text() -> None:
    spoken = ticket("", transcript=FIRST, location=Location(street="DS"))
    assert judge(at(street="DS"), [spoken], RULES).action == "merge"


# -- through the dispatch job, on SQLite and PostgreSQL -----------------------------------------
@pytest.fixture
def ctx(store: Store, tmp_path: Path, config: RouterConfig, model: Model) -> WorkerContext:
    return WorkerContext(store=store, media_dir=tmp_path / "media", router=Router(config, model))


def routed(ctx: WorkerContext, text: str, ref: str, **over: object) -> Ticket:
    created = ctx.store.submit(intake(ref, text, **over)).ticket  # type: ignore[arg-type]
    dispatch(ctx, created.id)
    return ctx.store.get(created.id)


def deliveries_of(store: Store, ticket_id: str) -> list[str]:
    with store.db.read() as conn:
        return list(conn.execute(select(deliveries.c.destination)
                                 .where(deliveries.c.ticket_id == ticket_id)).scalars())


def drains_of(store: Store, ticket_id: str) -> list[str]:
    with store.db.read() as conn:
        return [job for job in conn.execute(select(outbox.c.job)
                                            .where(outbox.c.ticket_id == ticket_id)).scalars()
                if job.endswith(".drain")]


def test_the_same_matter_nearby_is_merged_into_the_open_ticket(ctx: WorkerContext) -> None:
    first = routed(ctx, FIRST, "d-1")
    assert first.status is Status.registered and first.location and \
        first.location.street == "DS"
    second = routed(ctx, SAME, "d-2")

    assert second.status is Status.merged and second.merged_into == first.id
    assert second.category == first.category == "municipal.manhole"
    merged = second.history[-1]
    assert merged.status is Status.merged and merged.from_status is Status.registered
    assert merged.note is not None and first.number in merged.note and "merged" in merged.note
    assert [h.status for h in second.history] == [Status.received, Status.registered,
                                                  Status.merged]
    assert second.routing is not None and second.routing.destinations == []
    assert deliveries_of(ctx.store, second.id) == []  # nothing delivered twice
    assert drains_of(ctx.store, second.id) == []

    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None and survivor.routing.related == [second.id]
    note = survivor.history[-1]
    assert note.actor == "router" and note.note is not None
    assert second.number in note.note and "merged into this one" in note.note
    assert survivor.status is Status.registered  # its own round goes on
    assert deliveries_of(ctx.store, first.id) == ["street:DS"]


def test_a_similar_ticket_is_linked_as_related(ctx: WorkerContext) -> None:
    first = routed(ctx, FIRST, "r-1")
    second = routed(ctx, SIMILAR, "r-2")
    assert second.status is Status.registered and second.merged_into is None
    assert second.routing is not None and second.routing.related == [first.id]
    assert deliveries_of(ctx.store, second.id) == ["street:DS"]  # routed as its own matter
    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None and survivor.routing.related == [second.id]
    assert survivor.history[-1].note == f"ticket {second.number} may be about the same matter"


@pytest.mark.parametrize(("text", "why"), [
    ("东四三条12号门口的路灯不亮，晚上很危险", "another category"),
    ("东四十二条12号门口的井盖丢了，晚上很危险", "another street"),
])
def test_another_matter_or_place_is_left_alone(ctx: WorkerContext, text: str, why: str) -> None:
    first = routed(ctx, FIRST, "n-1")
    other = routed(ctx, text, "n-2")
    assert other.status is Status.registered and other.merged_into is None, why
    assert other.routing is not None and other.routing.related == [], why
    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None and survivor.routing.related == []
    assert survivor.seq == first.seq  # not touched


def test_points_in_different_cells_are_different_places(ctx: WorkerContext,
                                                        config: RouterConfig) -> None:
    here, there = (config.places.polygons[c].representative_point()
                   for c in ("DC-DS-0101", "DC-DS-0102"))
    first = routed(ctx, FIRST, "p-1", channel=Channel.web,
                   location=Location(lat=here.y, lon=here.x))
    other = routed(ctx, FIRST, "p-2", channel=Channel.web,
                   location=Location(lat=there.y, lon=there.x))
    assert first.location and other.location
    assert first.location.street == other.location.street == "DS"
    assert first.location.grid != other.location.grid
    assert other.status is Status.registered and other.merged_into is None
    same_cell = routed(ctx, FIRST, "p-3", channel=Channel.web,
                       location=Location(lat=here.y, lon=here.x))
    assert same_cell.merged_into == first.id


def test_an_old_or_closed_ticket_is_no_candidate(ctx: WorkerContext,
                                                 config: RouterConfig) -> None:
    hours = config.rules.duplicates.hours
    old = routed(ctx, FIRST, "o-1", at=datetime.now(UTC) - timedelta(hours=hours + 1))
    assert old.status is Status.registered
    fresh = routed(ctx, SAME, "o-2")
    assert fresh.status is Status.registered and fresh.merged_into is None
    with ctx.store.db.read() as conn:
        assert open_tickets_nearby(conn, fresh, config.rules.duplicates,
                                   datetime.now(UTC)) == []
        # … but it still counts as an earlier complaint about the place
        assert repeats(conn, fresh, config.rules.repeat.days, datetime.now(UTC)) == 1


def test_a_merged_ticket_is_no_candidate_and_no_repeat(ctx: WorkerContext,
                                                       config: RouterConfig) -> None:
    first = routed(ctx, FIRST, "m-1")
    merged = routed(ctx, SAME, "m-2")
    assert merged.merged_into == first.id
    third = routed(ctx, FIRST + "！", "m-3")
    assert third.merged_into == first.id  # into the survivor, never into the merged one
    with ctx.store.db.read() as conn:
        assert repeats(conn, third, config.rules.repeat.days, datetime.now(UTC)) == 1
    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None
    assert survivor.routing.related == [merged.id, third.id]


def test_the_resident_of_a_merged_ticket_follows_the_survivor(ctx: WorkerContext,
                                                              tmp_path: Path) -> None:
    """How: the merged ticket keeps its number and names the survivor (``merged_into``); the
    API (and so the back office answering the resident, or any status page built on it) goes
    from the number the resident holds to the survivor's status. The survivor names the merged
    ticket in ``routing.related`` and its history. Nothing is pushed to the merged ticket's
    resident by the gateway itself."""
    first = routed(ctx, FIRST, "f-1")
    second = routed(ctx, SAME, "f-2")
    settings = Settings(env="development", data_dir=tmp_path, _env_file=None)
    _, key = apikeys.create(ctx.store.db, "desk", frozenset({Scope.read}))
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings, store=ctx.store, redis_url="")) as client:
        asked = client.get(f"/api/v1/tickets/{second.number}", headers=headers)
        assert asked.status_code == 200, asked.text
        assert asked.json()["status"] == "merged"
        assert asked.json()["merged_into"] == first.id
        survivor = client.get(f"/api/v1/tickets/{asked.json()['merged_into']}", headers=headers)
        assert survivor.status_code == 200
        assert survivor.json()["number"] == first.number
        assert survivor.json()["status"] == "registered"
        assert second.id in survivor.json()["routing"]["related"]


def test_past_the_noted_links_a_merge_links_the_survivor_without_a_history_note(
        ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "NOTED_LINKS", 2)
    first = routed(ctx, FIRST, "n-0")
    merged = [routed(ctx, SAME, f"n-{i}") for i in (1, 2, 3, 4)]
    assert all(m.status is Status.merged and m.merged_into == first.id for m in merged)
    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None
    assert survivor.routing.related == [m.id for m in merged]  # every one is linked
    notes = [h.note for h in survivor.history if h.note and "merged into this one" in h.note]
    assert len(notes) == 2 and merged[0].number in notes[0] and merged[1].number in notes[1]


def test_a_survivor_with_a_full_history_is_still_linked(
        ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch) -> None:
    first = routed(ctx, FIRST, "f-0")
    full = len(ctx.store.get(first.id).history)
    monkeypatch.setattr(store_module, "MAX_HISTORY", full)  # what the store refuses past
    monkeypatch.setattr(routing, "MAX_HISTORY", full)
    second = routed(ctx, SAME, "f-1")  # the job does not fail on the survivor's full history
    assert second.status is Status.merged
    survivor = ctx.store.get(first.id)
    assert survivor.routing is not None and survivor.routing.related == [second.id]
    assert len(survivor.history) == full
