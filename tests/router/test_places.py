"""Point → grid cell (router/places.py): points of well-known places land in their street's
cells, every cell finds itself, points outside the district find nothing."""

from __future__ import annotations

import pytest

from router.places import Places
from router.routerconfig import RouterConfig

# Landmarks whose point in gazetteer.yaml must be found in their street (WGS-84).
LANDMARKS = {
    "故宫博物院": "DHM",
    "中国国家博物馆": "DHM",
    "北京协和医院": "DHM",
    "沙滩北街": "JS",
    "雍和宫": "BXQ",
    "地坛公园": "HPL",
    "北京站": "JGM",
    "国瑞购物中心": "CWMW",
    "龙潭公园": "LT",
    "红桥市场": "TYGL",
    "天坛公园": "TT",
}
OUTSIDE = {
    "西单 (西城区)": (116.3735, 39.9076),
    "国贸 (朝阳区)": (116.4615, 39.9087),
    "北京西站 (丰台区)": (116.3220, 39.8950),
    "奥林匹克公园 (朝阳区)": (116.3915, 40.0000),
    "上海人民广场": (121.4737, 31.2304),
    "null island": (0.0, 0.0),
}


def test_landmarks_map_to_their_street(config: RouterConfig) -> None:
    places = {p.name: p for p in config.gazetteer.data.places}
    for name, street in LANDMARKS.items():
        point = places[name].point
        assert point is not None, name
        cell = config.places.cell_at(*point)
        assert cell is not None, name
        assert cell.street == street, (name, cell)
        assert cell.community.startswith(f"DC-{street}-") and cell.grid.startswith(cell.community)


def test_every_pinned_gazetteer_point_lies_in_its_street_and_community(
        config: RouterConfig) -> None:
    checked = 0
    for place in config.gazetteer.data.places:
        if place.point is None or place.street is None:
            continue
        cell = config.places.cell_at(*place.point)
        assert cell is not None and cell.street == place.street, (place.name, cell)
        if place.community is not None:
            assert cell.community == place.community, (place.name, cell)
        checked += 1
    assert checked > 150


def test_every_cell_finds_itself_and_its_place_in_the_hierarchy(config: RouterConfig) -> None:
    places = config.places
    for code, polygon in places.polygons.items():
        point = polygon.representative_point()
        cell = places.cell_at(point.x, point.y)
        assert cell is not None and cell.grid == code
        assert places.community_street(cell.community) == cell.street
    for street in places.tree.streets:
        cell = places.cell_at(*street.center)
        assert cell is not None and cell.street == street.code, street.name


@pytest.mark.parametrize("where", sorted(OUTSIDE))
def test_points_outside_the_district_find_nothing(config: RouterConfig, where: str) -> None:
    assert config.places.cell_at(*OUTSIDE[where]) is None


def test_without_polygons_nothing_is_found(config: RouterConfig) -> None:
    bare = Places(config.places.tree)
    assert bare.cells  # the hierarchy is there …
    assert bare.cell_at(116.3909, 39.9149) is None  # … but no point can be placed


def test_streets_and_communities_by_code(config: RouterConfig) -> None:
    places = config.places
    assert len(places.streets) == 17
    street = places.street("DS")
    assert street is not None and street.name == "东四街道" and street.short == "东四"
    assert places.street("XC") is None
    assert places.community_street("DC-DHM-02") == "DHM"
    assert places.community_street("DC-NOPE-01") is None
