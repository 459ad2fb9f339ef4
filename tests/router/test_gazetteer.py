"""Place names in Chinese text (router/gazetteer.py): aliases, names inside longer words, places
of other districts, several places, none, roads through several streets, and where the
resident lives as against where the problem is."""

from __future__ import annotations

import pytest

from router.gazetteer import SURE, Gazetteer
from router.routerconfig import RouterConfig


@pytest.fixture(scope="module")
def gazetteer(config: RouterConfig) -> Gazetteer:
    return config.gazetteer


# -- aliases ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "name", "street"), [
    ("故宫东门外面有人拉黑车", "故宫博物院", "DHM"),
    ("紫禁城那边公厕太脏", "故宫博物院", "DHM"),
    ("国博门口排队的人乱扔垃圾", "中国国家博物馆", "DHM"),
    ("协和医院门口黄牛倒号", "北京协和医院", "DHM"),
    ("喇嘛庙北边胡同里路灯不亮", "雍和宫", "BXQ"),
    ("龙潭湖边上有人钓鱼乱扔垃圾", "龙潭公园", "LT"),
    ("北京火车站出站口有黑车拉客", "北京站", "JGM"),
])
def test_aliases_find_the_standard_place(gazetteer: Gazetteer, text: str, name: str,
                                         street: str) -> None:
    guess = gazetteer.street_of(text)
    assert [m.name for m in guess.matches] == [name]
    assert guess.matches[0].text != name  # found by its alias
    assert guess.street == street and guess.confidence == 1.0


def test_street_names_short_forms_and_communities(gazetteer: Gazetteer) -> None:
    assert gazetteer.street_of("东四这边井盖丢了").street == "DS"
    assert gazetteer.street_of("东四街道办不管事").street == "DS"
    guess = gazetteer.street_of("南池子社区门口堆了好多建筑垃圾")
    assert guess.street == "DHM" and guess.community == "DC-DHM-02"
    [match] = guess.matches
    assert match.kind == "community" and match.community == "DC-DHM-02"


# -- a place name inside a longer word ----------------------------------------------------------
def test_longest_place_name_wins(gazetteer: Gazetteer) -> None:
    # 东四十条 is a road of its own (two streets), not 东四 + 十条
    [match] = gazetteer.find("东四十条桥下面积水很深")
    assert match.name == "东四十条" and match.kind == "road"
    # 东四三条 is a hutong of 东四 street; 东四十二条 one of 北新桥
    assert [m.name for m in gazetteer.find("东四三条有人私装地锁")] == ["东四三条"]
    assert gazetteer.street_of("东四三条有人私装地锁").street == "DS"
    assert gazetteer.street_of("东四十二条有人私装地锁").street == "BXQ"
    # 鼓楼东大街 is not 鼓楼 (钟鼓楼) + 东大街
    assert [m.name for m in gazetteer.find("鼓楼东大街上乱停车")] == ["鼓楼东大街"]
    assert gazetteer.street_of("鼓楼那儿乱停车").street == "ADM"


def test_a_place_name_inside_an_ordinary_word_does_not_match(gazetteer: Gazetteer) -> None:
    # 大江 (大江胡同, 前门) inside 大江南北
    assert gazetteer.find("我们这个小吃摊大江南北的口味都有") == []
    assert gazetteer.street_of("我们这个小吃摊大江南北的口味都有").street is None
    # … while the hutong itself is found
    assert gazetteer.street_of("大江胡同口的垃圾站太臭了").street == "QM"


@pytest.mark.parametrize("text", ["天坛医院挂号太难了", "地坛医院门口乱停车",
                                  "朝外大街那边的事", "西城区的路灯也归你们管吗"])
def test_places_elsewhere_are_not_their_shorter_neighbour(gazetteer: Gazetteer,
                                                          text: str) -> None:
    # 天坛医院 moved out of Dongcheng: it must not count as 天坛 (天坛公园, 天坛 street)
    guess = gazetteer.street_of(text)
    assert [m.kind for m in guess.matches] == ["elsewhere"]
    assert guess.street is None and guess.candidates == {}


def test_elsewhere_does_not_mask_a_real_place_in_the_same_text(gazetteer: Gazetteer) -> None:
    guess = gazetteer.street_of("以前天坛医院那块，现在天坛公园北门外面垃圾没人清")
    assert [m.kind for m in guess.matches] == ["elsewhere", "park"]
    assert guess.street == "TT"


# -- several places, none -----------------------------------------------------------------------
def test_two_places_of_one_street_make_it_surer(gazetteer: Gazetteer) -> None:
    guess = gazetteer.street_of("王府井大街百货大楼门口有人摆摊")
    assert [m.name for m in guess.matches] == ["王府井大街", "王府井百货大楼"]
    assert guess.street == "DHM" and guess.confidence == 1.0
    assert guess.candidates == {"DHM": 1.8}


def test_two_places_in_two_streets_stay_unknown_with_both_candidates(
        gazetteer: Gazetteer) -> None:
    guess = gazetteer.street_of("雍和宫和王府井两个地方都有黑导游")
    assert [m.name for m in guess.matches] == ["雍和宫", "王府井大街"]
    assert guess.street is None and guess.confidence == 0.0
    assert set(guess.candidates) == {"BXQ", "DHM"}


def test_a_pinned_place_outweighs_a_road_of_another_street(gazetteer: Gazetteer) -> None:
    # a hutong (1.0) against a street name (0.9) is not enough to be sure …
    assert gazetteer.street_of("东四三条和和平里").street is None
    # … a hutong and a compound of one street against a road of another is
    guess = gazetteer.street_of("簋街旁边的雍和宫和喇嘛庙")
    assert guess.street == "BXQ"


def test_no_place_at_all(gazetteer: Gazetteer) -> None:
    for text in ("", "   ", "楼道灯坏了好几天了", "我想问一下社保怎么交"):
        guess = gazetteer.street_of(text)
        assert guess.street is None and guess.confidence == 0.0
        assert guess.matches == () and guess.candidates == {} and guess.community is None


@pytest.mark.parametrize(("text", "streets"), [
    ("长安街上路灯一闪一闪的", {"DHM", "JGM"}),
    ("东四北大街上有个大坑", {"JS", "JDK", "DS", "BXQ"}),
    ("鼓楼东大街晚上有人飙车", {"JDK", "ADM"}),
    ("东四十条那段井盖响", {"DS", "BXQ"}),
])
def test_a_road_through_several_streets_stays_unknown(gazetteer: Gazetteer, text: str,
                                                      streets: set[str]) -> None:
    guess = gazetteer.street_of(text)
    assert guess.street is None
    assert set(guess.candidates) == streets  # shown to the operator who decides


def test_a_road_with_a_hutong_on_it_leads_but_is_not_sure(gazetteer: Gazetteer) -> None:
    # 东四北大街 runs through 4 streets, 东四十二条 lies in 北新桥: the road's share of the other
    # three streets keeps 北新桥 below the bar (conservative: a person confirms it)
    guess = gazetteer.street_of("东四北大街拐进东四十二条那个口上有个井盖没了")
    assert guess.street is None
    assert max(guess.candidates, key=guess.candidates.__getitem__) == "BXQ"
    assert guess.candidates["BXQ"] / sum(guess.candidates.values()) < SURE


# -- where the resident lives -------------------------------------------------------------------
def test_the_home_marker_weighs_the_problem_place(gazetteer: Gazetteer) -> None:
    both = "和平里和王府井都有人摆摊"
    assert gazetteer.street_of(both).street is None
    for text in ("我住在和平里，王府井那边天天有人摆摊", "我家住和平里 王府井那边天天有人摆摊",
                 "我家在和平里，王府井那边天天有人摆摊"):
        guess = gazetteer.street_of(text)
        assert guess.street == "DHM", text
        assert guess.candidates["HPL"] < guess.candidates["DHM"] / 2


def test_home_alone_is_still_the_place(gazetteer: Gazetteer) -> None:
    # nothing else named: the problem is where the resident lives (楼道灯)
    guess = gazetteer.street_of("我住在东四那边，楼道灯坏了")
    assert guess.street == "DS"


def test_sure_is_the_share_one_street_must_hold(gazetteer: Gazetteer) -> None:
    text = "我住在和平里，王府井那边天天有人摆摊"
    share = gazetteer.street_of(text).confidence
    assert SURE <= share < 1.0
    assert gazetteer.street_of(text, sure=share).street == "DHM"
    assert gazetteer.street_of(text, sure=min(1.0, share + 0.01)).street is None
