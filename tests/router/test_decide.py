"""The routing decision for one ticket (router/decide.py), branch by branch: where (QR grid >
point > place names), what (rule > model > a person; an operator's choice kept), the kind (the
resident's choice never overridden), priority and deadlines, the loop and the desks."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from router.classify import Model
from router.decide import Context, Decision, decide, ticket_text, urgency_of
from router.geo import wgs84_to_gcj02
from router.routerconfig import RouterConfig
from tests.router.tickets import NOW, ticket
from tickets.model import Channel, Decided, Destination, Kind, Location, Loop, Routing, Ticket

GUGONG = (116.390958, 39.914899)  # 故宫博物院 (东华门), WGS-84
WANGFUJING = (116.405256, 39.911096)  # 王府井大街 (东华门), WGS-84: its GCJ-02 lies in 建国门
LAMP = "路灯不亮"  # municipal.streetlight, small loop
HEAT = "暖气不热"  # heating.supply, big loop (a city-level department)


def run(config: RouterConfig, model: Model | None, t: Ticket,
        context: Context | None = None) -> Decision:
    decision = decide(config, model, t, context or Context(), NOW)
    assert decision.ticket.id == t.id
    return decision


def placed(d: Decision) -> tuple[str | None, str | None]:
    loc, routing = d.ticket.location, d.ticket.routing
    assert routing is not None
    return (loc.street if loc else None), (routing.place.source if routing.place else None)


# -- place --------------------------------------------------------------------------------------
def test_a_qr_grid_wins_over_a_point_and_place_names(config: RouterConfig, model: Model) -> None:
    loc = Location(grid="DC-DS-0101", lon=GUGONG[0], lat=GUGONG[1], address="王府井大街")
    d = run(config, model, ticket(f"故宫门口{LAMP}", channel=Channel.web, location=loc))
    assert placed(d) == ("DS", "grid_qr")
    assert d.ticket.location is not None
    assert d.ticket.location.community == "DC-DS-01" and d.ticket.location.grid == "DC-DS-0101"
    assert d.ticket.location.address == "王府井大街"  # what the resident wrote is kept
    assert d.ticket.routing and d.ticket.routing.place == Decided(
        source="grid_qr", confidence=1.0, detail="DC-DS-0101")
    assert d.destinations == ["street:DS"]


def test_an_unknown_grid_code_falls_back_to_the_point(config: RouterConfig, model: Model) -> None:
    loc = Location(grid="DC-XX-9999", lon=GUGONG[0], lat=GUGONG[1])
    d = run(config, model, ticket(LAMP, channel=Channel.web, location=loc))
    assert placed(d) == ("DHM", "point")
    cell = config.places.cell_at(*GUGONG)
    assert cell is not None and d.ticket.location and d.ticket.location.grid == cell.grid


def test_an_unknown_grid_code_is_dropped_when_the_street_comes_from_the_text(
        config: RouterConfig, model: Model) -> None:
    d = run(config, model, ticket(f"东四三条{LAMP}", channel=Channel.web,
                                  location=Location(grid="DC-XX-9999")))
    assert placed(d) == ("DS", "gazetteer")
    assert d.ticket.location is not None and d.ticket.location.grid is None


def test_a_point_wins_over_place_names(config: RouterConfig, model: Model) -> None:
    loc = Location(lon=GUGONG[0], lat=GUGONG[1])
    d = run(config, model, ticket(f"雍和宫门口{LAMP}", channel=Channel.web, location=loc))
    assert placed(d) == ("DHM", "point")
    cell = config.places.cell_at(*GUGONG)
    assert cell is not None and d.ticket.location is not None
    assert (d.ticket.location.grid, d.ticket.location.community) == (cell.grid, cell.community)
    assert d.ticket.routing and d.ticket.routing.place and d.ticket.routing.place.detail == \
        f"{GUGONG[1]:.5f},{GUGONG[0]:.5f}"


def test_a_wechat_point_is_gcj02_and_converted_first(config: RouterConfig,
                                                     model: Model) -> None:
    lon, lat = wgs84_to_gcj02(*WANGFUJING)
    loc = Location(lon=lon, lat=lat)
    wechat = run(config, model, ticket(LAMP, channel=Channel.wechat, location=loc))
    assert placed(wechat) == ("DHM", "point")
    routing = wechat.ticket.routing
    assert routing and routing.place and routing.place.detail == \
        f"{WANGFUJING[1]:.5f},{WANGFUJING[0]:.5f}"  # the WGS-84 point it was converted to
    assert wechat.ticket.location and wechat.ticket.location.lon == lon  # the original is kept
    # the same numbers from the web form are WGS-84 already: some 600 m east, another street
    web = run(config, model, ticket(LAMP, channel=Channel.web, location=loc))
    assert placed(web) == ("JGM", "point")


def test_a_point_outside_the_district_falls_back_to_place_names(config: RouterConfig,
                                                                 model: Model) -> None:
    loc = Location(lon=116.3735, lat=39.9076)  # 西单
    d = run(config, model, ticket(f"雍和宫门口{LAMP}", channel=Channel.web, location=loc))
    assert placed(d) == ("BXQ", "gazetteer")
    assert d.ticket.location and d.ticket.location.lat == 39.9076 and \
        d.ticket.location.grid is None


def test_place_names_in_address_message_and_transcript(config: RouterConfig,
                                                       model: Model) -> None:
    by_address = run(config, model, ticket(LAMP, location=Location(address="东四三条12号")))
    assert placed(by_address) == ("DS", "gazetteer")
    assert by_address.ticket.location and by_address.ticket.location.community == "DC-DS-01"
    assert by_address.ticket.routing and by_address.ticket.routing.place == Decided(
        source="gazetteer", confidence=1.0, detail="东四三条")
    by_voice = run(config, model, ticket(transcript=f"喂 我说一下啊 就是簋街那块儿{LAMP}"))
    assert placed(by_voice) == ("BXQ", "gazetteer")
    assert by_voice.ticket.location is not None  # made for the street found
    assert ticket_text(ticket("b", location=Location(address="a"), transcript="c")) == "a\nb\nc"


def test_home_and_problem_place_give_a_confidence_below_one(config: RouterConfig,
                                                            model: Model) -> None:
    d = run(config, model, ticket(f"我住在和平里，王府井那边{LAMP}"))
    assert placed(d) == ("DHM", "gazetteer")
    assert d.ticket.routing and d.ticket.routing.place
    assert config.rules.thresholds.place <= (d.ticket.routing.place.confidence or 0) < 1
    assert d.ticket.routing.place.detail == "和平里街道、王府井大街"


def test_an_unknown_place_waits_for_a_person(config: RouterConfig, model: Model) -> None:
    for text in (f"楼下{LAMP}", f"长安街上{LAMP}", f"雍和宫和王府井都是{LAMP}"):
        d = run(config, model, ticket(text))
        assert placed(d) == (None, None), text
        assert d.ticket.routing and d.ticket.routing.needs == ["place"]
        assert d.destinations == []
        assert d.ticket.category == "municipal.streetlight"  # the rest is decided all the same
        assert d.ticket.routing.respond_by is not None


def test_an_operators_place_is_kept(config: RouterConfig, model: Model) -> None:
    operator = Decided(source="operator", confidence=1.0, detail="坐席确认")
    t = ticket(f"故宫门口{LAMP}", location=Location(street="QM", address="前门"),
               routing=Routing(place=operator))
    d = run(config, model, t)
    assert placed(d) == ("QM", "operator")
    assert d.destinations == ["street:QM"]


# -- category -----------------------------------------------------------------------------------
def test_a_rule_names_the_category_with_its_phrase(config: RouterConfig, model: Model) -> None:
    d = run(config, model, ticket(f"东四{LAMP}"))
    assert d.ticket.category == "municipal.streetlight"
    assert d.ticket.department == "东城区城市管理委员会"
    assert d.ticket.routing and d.ticket.routing.category == Decided(
        source="rule", confidence=1.0, detail=LAMP)


def test_the_model_decides_above_its_threshold_and_a_person_below(config: RouterConfig,
                                                                  model: Model) -> None:
    text = "东四三条 楼上漏水到我家了"
    suggested, p = model.predict(text)
    sure = dataclasses.replace(config, rules=config.rules.model_copy(update={
        "thresholds": config.rules.thresholds.model_copy(update={"category": p - 0.01})}))
    unsure = dataclasses.replace(config, rules=config.rules.model_copy(update={
        "thresholds": config.rules.thresholds.model_copy(update={"category": p + 0.01})}))
    d = run(sure, model, ticket(text))
    assert d.ticket.category == suggested
    assert d.ticket.routing and d.ticket.routing.category and \
        d.ticket.routing.category.source == "model"
    assert d.ticket.routing.needs == [] and d.destinations
    d = run(unsure, model, ticket(text))
    assert d.ticket.category is None and d.ticket.loop is None and d.ticket.department is None
    assert d.ticket.routing and d.ticket.routing.needs == ["category"]
    assert d.ticket.routing.category and d.ticket.routing.category.detail == \
        f"{model.name} suggests {suggested}"
    assert d.ticket.routing.respond_by is None and d.destinations == []


def test_without_a_model_only_rules_decide(config: RouterConfig) -> None:
    d = run(config, None, ticket("东四三条 楼上漏水到我家了"))
    assert d.ticket.routing and d.ticket.routing.needs == ["category"]
    assert d.ticket.routing.category == Decided(source="none", confidence=0.0,
                                                detail="no rule fired and no model")
    both = run(config, None, ticket("我想反映个事"))
    assert both.ticket.routing and both.ticket.routing.needs == ["place", "category"]


def test_an_operators_category_is_kept(config: RouterConfig, model: Model) -> None:
    operator = Decided(source="operator", confidence=1.0, detail="坐席")
    t = ticket(f"东四三条{LAMP}，井盖也丢了", category="sanitation.garbage",
               routing=Routing(category=operator))
    d = run(config, model, t)
    assert d.ticket.category == "sanitation.garbage"
    assert d.ticket.routing and d.ticket.routing.category == operator
    # a category set before the router ran (the back office) counts as the operator's too
    early = run(config, model, ticket(f"东四三条{LAMP}", category="sanitation.garbage"))
    assert early.ticket.category == "sanitation.garbage"
    assert early.ticket.routing and early.ticket.routing.category == Decided(
        source="operator", confidence=1.0)


def test_the_routers_own_earlier_category_is_decided_again(config: RouterConfig,
                                                           model: Model) -> None:
    earlier = Decided(source="rule", confidence=1.0, detail="垃圾堆")
    t = ticket(f"东四三条{LAMP}", category="sanitation.garbage", routing=Routing(category=earlier))
    d = run(config, model, t)
    assert d.ticket.category == "municipal.streetlight"


# -- kind ---------------------------------------------------------------------------------------
def test_the_residents_kind_is_never_overridden(config: RouterConfig, model: Model) -> None:
    for kind in (Kind.complaint, Kind.consultation, Kind.help, Kind.suggestion):
        d = run(config, model, ticket(f"我要举报东四三条{LAMP}", kind=kind))
        assert d.ticket.kind is kind
        assert d.ticket.routing and d.ticket.routing.kind is None


def test_an_unknown_kind_is_guessed_from_phrases(config: RouterConfig, model: Model) -> None:
    d = run(config, model, ticket(f"我要举报东四三条{LAMP}", kind=Kind.unknown))
    assert d.ticket.kind is Kind.report
    assert d.ticket.routing and d.ticket.routing.kind == Decided(
        source="phrase", confidence=1.0, detail="举报")
    plain = run(config, model, ticket(f"东四三条{LAMP}", kind=Kind.unknown))
    assert plain.ticket.kind is Kind.unknown and plain.ticket.routing and \
        plain.ticket.routing.kind is None


# -- priority and deadlines ---------------------------------------------------------------------
def deadlines(d: Decision) -> tuple[timedelta, timedelta]:
    routing = d.ticket.routing
    assert routing and routing.respond_by and routing.resolve_by
    return routing.respond_by - NOW, routing.resolve_by - NOW


def test_urgency_phrases_raise_the_priority_and_tighten_the_deadlines(config: RouterConfig,
                                                                      model: Model) -> None:
    lamp = config.catalogue.category("municipal.streetlight")
    assert lamp is not None
    normal = run(config, model, ticket(f"东四三条{LAMP}"))
    assert normal.ticket.priority == 3
    assert deadlines(normal) == (timedelta(hours=lamp.deadlines["normal"].respond),
                                 timedelta(hours=lamp.deadlines["normal"].resolve))
    urgent = run(config, model, ticket(f"东四三条{LAMP}，电线掉下来了"))
    assert urgent.ticket.priority == 1
    assert urgent.ticket.routing and urgent.ticket.routing.priority == Decided(
        source="phrase", confidence=1.0, detail="电线掉下来")
    assert deadlines(urgent) == (timedelta(hours=lamp.deadlines["urgent"].respond),
                                 timedelta(hours=lamp.deadlines["urgent"].resolve))
    elderly = run(config, model, ticket(f"东四三条{LAMP}，楼里有独居老人"))
    assert elderly.ticket.priority == 2 and urgency_of(2) == "urgent"


def test_the_most_urgent_phrase_wins_and_a_priority_is_never_lowered(config: RouterConfig,
                                                                     model: Model) -> None:
    both = run(config, model, ticket("东四三条半夜施工，还闻到煤气味儿"))
    assert both.ticket.priority == 1 and both.ticket.category == "gas.leak"
    gas = config.catalogue.category("gas.leak")
    assert gas is not None
    assert deadlines(both)[0] == timedelta(hours=gas.deadlines["urgent"].respond)
    set_by_operator = run(config, model, ticket("东四三条半夜施工", priority=1))
    assert set_by_operator.ticket.priority == 1  # 半夜施工 is priority 3: not lower


def test_a_low_priority_gets_the_low_deadlines(config: RouterConfig, model: Model) -> None:
    lamp = config.catalogue.category("municipal.streetlight")
    assert lamp is not None
    d = run(config, model, ticket(f"东四三条{LAMP}", priority=5))
    assert d.ticket.priority == 5 and urgency_of(5) == urgency_of(4) == "low"
    assert deadlines(d) == (timedelta(hours=lamp.deadlines["low"].respond),
                            timedelta(hours=lamp.deadlines["low"].resolve))


# -- loop and destinations ----------------------------------------------------------------------
def loop_of(d: Decision) -> tuple[Loop | None, str | None]:
    routing = d.ticket.routing
    return d.ticket.loop, (routing.loop.source if routing and routing.loop else None)


def test_the_small_loop_goes_to_the_streets_sub_center(config: RouterConfig,
                                                       model: Model) -> None:
    d = run(config, model, ticket(f"东四三条{LAMP}"))
    assert loop_of(d) == (Loop.small, "catalogue")
    assert d.destinations == ["street:DS"]
    assert d.ticket.routing and d.ticket.routing.needs == []


def test_the_catalogues_big_loop_goes_to_the_district_and_the_department(
        config: RouterConfig, model: Model) -> None:
    d = run(config, model, ticket(f"东四三条{HEAT}"))
    assert d.ticket.category == "heating.supply"
    assert loop_of(d) == (Loop.big, "catalogue")
    assert d.destinations == ["district", "dept:dept.heating"]


def test_a_city_level_department_moves_a_small_loop_category_to_the_big_loop(
        config: RouterConfig, model: Model) -> None:
    lamps = [c.model_copy(update={"department": "dept.power"})
             if c.code == "municipal.streetlight" else c for c in config.catalogue.categories]
    city = dataclasses.replace(config, catalogue=config.catalogue.model_copy(
        update={"categories": lamps}))
    d = run(city, model, ticket(f"东四三条{LAMP}"))
    assert loop_of(d) == (Loop.big, "department")
    power = config.catalogue.department("dept.power")
    assert power is not None and power.level == "city"
    assert d.ticket.routing and d.ticket.routing.loop
    assert d.ticket.routing.loop.detail == power.name
    assert d.destinations == ["district", "dept:dept.power"]


@pytest.mark.parametrize(("words", "source", "phrase"), [
    ("我已经找了北京晚报", "media", "北京晚报"),
    ("这事我要写到市长信箱", "leader", "市长信箱"),
    ("两个街道都不管，互相推诿", "cross_street", "两个街道都不管"),
])
def test_media_leader_and_cross_street_phrases_move_it_to_the_big_loop(
        config: RouterConfig, model: Model, words: str, source: str, phrase: str) -> None:
    d = run(config, model, ticket(f"东四三条{LAMP}，{words}"))
    assert loop_of(d) == (Loop.big, source)
    assert d.ticket.routing and d.ticket.routing.loop and d.ticket.routing.loop.detail == phrase
    assert d.destinations == ["district", "dept:dept.urban-management"]


def test_repeated_complaints_about_one_place_go_to_the_big_loop(config: RouterConfig,
                                                                model: Model) -> None:
    count = config.rules.repeat.count
    t = ticket(f"东四三条{LAMP}")
    assert loop_of(run(config, model, t, Context(repeats=count - 2))) == (Loop.small, "catalogue")
    d = run(config, model, t, Context(repeats=count - 1))
    assert loop_of(d) == (Loop.big, "repeat")
    assert d.ticket.routing and d.ticket.routing.loop
    assert d.ticket.routing.loop.detail == \
        f"{count} tickets here in {config.rules.repeat.days} days"
    assert d.destinations == ["district", "dept:dept.urban-management"]


def test_a_small_loop_ticket_without_a_street_goes_to_the_district(config: RouterConfig,
                                                                   model: Model) -> None:
    operator = Decided(source="operator", detail="坐席：地址在辖区内，街道待核")
    d = run(config, model, ticket(LAMP, location=Location(address="某处"),
                                  routing=Routing(place=operator)))
    assert d.ticket.loop is Loop.small and d.ticket.routing and d.ticket.routing.needs == []
    assert d.destinations == ["district", "dept:dept.urban-management"]


def test_destinations_already_there_are_kept_and_others_dropped(config: RouterConfig,
                                                                model: Model) -> None:
    delivered = Destination(id="street:DS", status="delivered", at=NOW)
    stale = Destination(id="street:QM", status="pending")
    t = ticket(f"东四三条{LAMP}", routing=Routing(destinations=[delivered, stale]))
    d = run(config, model, t)
    assert d.ticket.routing and d.ticket.routing.destinations == [delivered]


def test_the_decision_is_pure(config: RouterConfig, model: Model) -> None:
    t = ticket(f"我要举报东四三条{LAMP}，电线掉下来了", kind=Kind.unknown)
    before = t.model_dump()
    one = run(config, model, t)
    two = run(config, model, t)
    assert t.model_dump() == before
    assert one == two
