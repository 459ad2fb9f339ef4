"""Consistency of the router's reviewed data: catalogue, places, grid polygons, gazetteer, routing
phrases and the labelled set.

These tests check the data against itself (codes that point somewhere, counts, geometry); they do
not load it through the router's own loader, which validates the same files at start-up.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml
from shapely.geometry import Point, Polygon, shape
from shapely.ops import unary_union
from shapely.strtree import STRtree

from scripts import make_grids

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "router" / "config"
LABELLED = CONFIG / "labelled.csv"

STREETS = [
    ("DHM", "东华门街道"),
    ("JS", "景山街道"),
    ("JDK", "交道口街道"),
    ("ADM", "安定门街道"),
    ("BXQ", "北新桥街道"),
    ("DS", "东四街道"),
    ("CYM", "朝阳门街道"),
    ("JGM", "建国门街道"),
    ("DZM", "东直门街道"),
    ("HPL", "和平里街道"),
    ("QM", "前门街道"),
    ("CWMW", "崇文门外街道"),
    ("DHS", "东花市街道"),
    ("LT", "龙潭街道"),
    ("TYGL", "体育馆路街道"),
    ("TT", "天坛街道"),
    ("YDMW", "永定门外街道"),
]
STREET_CODES = [code for code, _ in STREETS]
KINDS = {"consultation", "help", "complaint", "report", "suggestion"}
PLACE_KINDS = {
    "road",
    "hutong",
    "landmark",
    "compound",
    "station",
    "market",
    "hospital",
    "school",
    "park",
}
URGENCIES = ("urgent", "normal", "low")
# Two cells "overlap" when they share more than this area (square degrees, about 1 m²): shared
# edges are exact in the generated file, so anything above it is a real overlap.
AREA_TOLERANCE = 1e-10


# --- loading -----------------------------------------------------------------------------
def _yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name} must hold a mapping"
    return data


@cache
def catalogue() -> dict[str, Any]:
    return _yaml("catalogue.yaml")


@cache
def places() -> dict[str, Any]:
    return _yaml("places.yaml")


@cache
def gazetteer() -> list[dict[str, Any]]:
    entries = _yaml("gazetteer.yaml")["places"]
    assert isinstance(entries, list)
    return entries


@cache
def routing() -> dict[str, Any]:
    return _yaml("routing.yaml")


@cache
def features() -> list[dict[str, Any]]:
    collection = json.loads((CONFIG / "grids.geojson").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    found = collection["features"]
    assert isinstance(found, list)
    return found


@cache
def labelled() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["text", "category", "street", "kind", "style"]
        return list(reader)


def streets() -> list[dict[str, Any]]:
    found = places()["streets"]
    assert isinstance(found, list)
    return found


def communities() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for street in streets():
        for community in street["communities"]:
            yield street, community


def grid_entries() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for street, community in communities():
        for grid in community["grids"]:
            yield street, community, grid


@cache
def cell_shapes() -> dict[str, Polygon]:
    cells: dict[str, Polygon] = {}
    for feature in features():
        geometry = shape(feature["geometry"])
        assert isinstance(geometry, Polygon), feature["properties"]["code"]
        cells[feature["properties"]["code"]] = geometry
    return cells


def _union_by(key: str) -> dict[str, Polygon]:
    groups: dict[str, list[Polygon]] = {}
    for feature in features():
        groups.setdefault(feature["properties"][key], []).append(
            cell_shapes()[feature["properties"]["code"]]
        )
    merged: dict[str, Polygon] = {}
    for code, parts in groups.items():
        union = unary_union(parts)
        assert isinstance(union, Polygon), f"{key} {code} is not one polygon"
        merged[code] = union
    return merged


@cache
def street_shapes() -> dict[str, Polygon]:
    return _union_by("street")


@cache
def community_shapes() -> dict[str, Polygon]:
    return _union_by("community")


# --- catalogue ---------------------------------------------------------------------------
def test_departments_have_unique_codes_and_a_level() -> None:
    departments = catalogue()["departments"]
    codes = [d["code"] for d in departments]
    assert len(codes) == len(set(codes))
    for department in departments:
        assert re.fullmatch(r"dept\.[a-z0-9]+(?:[.-][a-z0-9]+)*", department["code"])
        assert department["level"] in {"district", "city"}, department["code"]
        assert isinstance(department["name"], str) and department["name"]


def test_categories_are_well_formed() -> None:
    data = catalogue()
    departments = {d["code"]: d for d in data["departments"]}
    groups = data["groups"]
    assert len(groups) == len(set(groups))
    categories = data["categories"]
    assert len(categories) >= 34
    codes = [c["code"] for c in categories]
    assert len(codes) == len(set(codes))
    prefixes: dict[str, str] = {}
    for category in categories:
        code = category["code"]
        assert re.fullmatch(r"[a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*", code), code
        assert category["group"] in groups, code
        prefix = code.split(".")[0]
        assert prefixes.setdefault(category["group"], prefix) == prefix, f"{code}: group prefix"
        assert category["department"] in departments, code
        assert category["loop"] in {"small", "big"}, code
        if departments[category["department"]]["level"] == "city":
            assert category["loop"] == "big", f"{code}: a city-level department means big loop"
        assert isinstance(category["weight"], int) and category["weight"] > 0, code
        assert isinstance(category["name"], str) and category["name"], code
    assert len(set(prefixes.values())) == len(prefixes), "two groups share a code prefix"
    assert set(prefixes) == set(groups), "every group is used by some category"


def test_deadlines_are_hours_and_tighten_with_urgency() -> None:
    for category in catalogue()["categories"]:
        deadlines = category["deadlines"]
        assert set(deadlines) == set(URGENCIES), category["code"]
        for urgency in URGENCIES:
            respond, resolve = deadlines[urgency]
            assert isinstance(respond, int) and isinstance(resolve, int), category["code"]
            assert 0 < respond <= resolve, f"{category['code']} {urgency}"
        resolves = [deadlines[u][1] for u in URGENCIES]
        responds = [deadlines[u][0] for u in URGENCIES]
        assert resolves == sorted(resolves), f"{category['code']}: urgent resolves first"
        assert responds == sorted(responds), f"{category['code']}: urgent is answered first"


def test_phrases_are_plenty_and_never_shared_between_categories() -> None:
    owner: dict[str, str] = {}
    for category in catalogue()["categories"]:
        phrases = category["phrases"]
        assert len(phrases) >= 5, category["code"]
        assert len(phrases) == len(set(phrases)), category["code"]
        for phrase in phrases:
            assert isinstance(phrase, str) and len(phrase) >= 2, f"{category['code']}: {phrase!r}"
            assert phrase == phrase.strip()
            assert owner.setdefault(phrase, category["code"]) == category["code"], phrase


def test_phrase_inside_another_categorys_phrase_loses_on_weight() -> None:
    """When a phrase occurs inside a longer phrase of another category, the longer one wins."""
    entries = [(p, c["code"], c["weight"]) for c in catalogue()["categories"] for p in c["phrases"]]
    for (short, short_code, short_weight), (long, long_code, long_weight) in combinations(
        entries, 2
    ):
        for a, a_code, a_weight, b, b_code, b_weight in (
            (short, short_code, short_weight, long, long_code, long_weight),
            (long, long_code, long_weight, short, short_code, short_weight),
        ):
            if a_code != b_code and a != b and a in b:
                assert b_weight > a_weight, f"{b} ({b_code}) must outweigh {a} ({a_code})"


# --- places ------------------------------------------------------------------------------
def test_district_and_its_17_streets_in_the_official_order() -> None:
    assert places()["district"] == {"code": "DC", "name": "东城区"}
    assert [(s["code"], s["name"]) for s in streets()] == STREETS
    for street in streets():
        assert street["real"] is True
        assert street["name"] == street["short"] + "街道"
        assert isinstance(street["aliases"], list)
        lon, lat = street["center"]
        assert 116.3 < lon < 116.5 and 39.8 < lat < 40.0


def test_community_and_grid_codes_follow_the_scheme() -> None:
    seen: set[str] = set()
    for street in streets():
        assert 3 <= len(street["communities"]) <= 5, street["code"]
        for number, community in enumerate(street["communities"], start=1):
            expected = f"DC-{street['code']}-{number:02d}"
            assert community["code"] == expected
            assert isinstance(community["real"], bool)
            assert community["name"].endswith("社区")
            assert 2 <= len(community["grids"]) <= 3, community["code"]
            for cell, grid in enumerate(community["grids"], start=1):
                assert grid["code"] == f"{expected}{cell:02d}"
                assert grid["name"].endswith("网格")
            for code in [community["code"], *(g["code"] for g in community["grids"])]:
                assert code not in seen
                seen.add(code)


def test_street_centers_lie_in_their_street() -> None:
    for street in streets():
        assert street_shapes()[street["code"]].contains(Point(street["center"])), street["code"]


# --- grid polygons -----------------------------------------------------------------------
def test_every_grid_cell_has_one_polygon_and_every_polygon_a_grid_cell() -> None:
    expected = {
        grid["code"]: (grid["name"], community["code"], street["code"])
        for street, community, grid in grid_entries()
    }
    found: dict[str, tuple[str, str, str]] = {}
    for feature in features():
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        props = feature["properties"]
        assert set(props) == {"code", "name", "community", "street"}
        assert props["code"] not in found, f"{props['code']} drawn twice"
        found[props["code"]] = (props["name"], props["community"], props["street"])
    assert found == expected


def test_polygons_are_valid_wgs84_rings() -> None:
    for code, cell in cell_shapes().items():
        assert cell.is_valid, code
        assert cell.area > 0, code
        assert not cell.interiors, f"{code} has a hole"
        minx, miny, maxx, maxy = cell.bounds
        assert 116.3 < minx < maxx < 116.5 and 39.8 < miny < maxy < 40.0, code


def test_grid_cells_do_not_overlap() -> None:
    codes = list(cell_shapes())
    cells = [cell_shapes()[c] for c in codes]
    tree = STRtree(cells)
    for i, cell in enumerate(cells):
        for j in tree.query(cell):
            if int(j) > i:
                shared = cell.intersection(cells[int(j)]).area
                assert shared < AREA_TOLERANCE, f"{codes[i]} overlaps {codes[int(j)]}"


def test_cells_tile_their_community_and_street_without_gaps() -> None:
    for key, unions in (("community", community_shapes()), ("street", street_shapes())):
        for code, union in unions.items():
            assert not union.interiors, f"{key} {code} has a gap"
            parts = [
                cell_shapes()[f["properties"]["code"]]
                for f in features()
                if f["properties"][key] == code
            ]
            assert math.isclose(sum(p.area for p in parts), union.area, rel_tol=1e-9), code


def test_streets_do_not_overlap_and_form_one_district() -> None:
    shapes = street_shapes()
    assert list(shapes) == STREET_CODES
    for (a, shape_a), (b, shape_b) in combinations(shapes.items(), 2):
        assert shape_a.intersection(shape_b).area < AREA_TOLERANCE, f"{a} overlaps {b}"
    district = unary_union(list(shapes.values()))
    assert isinstance(district, Polygon) and not district.interiors


def test_the_generator_knows_every_street_and_community() -> None:
    assert set(make_grids.STREET_OUTLINES_GCJ) == set(STREET_CODES)
    assert set(make_grids.COMMUNITY_SEEDS_GCJ) == {c["code"] for _, c in communities()}


# --- gazetteer ---------------------------------------------------------------------------
def _entry_streets(entry: dict[str, Any]) -> list[str]:
    assert ("street" in entry) != ("streets" in entry), f"{entry['name']}: street xor streets"
    if "street" in entry:
        return [entry["street"]]
    found = entry["streets"]
    assert isinstance(found, list) and len(found) >= 2, entry["name"]
    assert len(found) == len(set(found)), entry["name"]
    return found


def test_gazetteer_entries_are_well_formed() -> None:
    entries = gazetteer()
    assert len(entries) >= 220
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names))
    allowed = {"name", "kind", "street", "streets", "community", "aliases", "point"}
    community_street = {c["code"]: s["code"] for s, c in communities()}
    for entry in entries:
        assert set(entry) <= allowed, entry["name"]
        assert entry["kind"] in PLACE_KINDS, entry["name"]
        for code in _entry_streets(entry):
            assert code in STREET_CODES, entry["name"]
        aliases = entry["aliases"]
        assert isinstance(aliases, list), entry["name"]
        assert len(aliases) == len(set(aliases)) and entry["name"] not in aliases, entry["name"]
        if "community" in entry:
            assert "street" in entry, f"{entry['name']}: a community needs one street"
            assert community_street[entry["community"]] == entry["street"], entry["name"]


def test_gazetteer_names_at_least_12_places_per_street() -> None:
    counts = Counter(code for e in gazetteer() for code in _entry_streets(e))
    for code in STREET_CODES:
        assert counts[code] >= 12, code


def test_gazetteer_points_lie_in_their_street_and_community() -> None:
    for entry in gazetteer():
        if "point" not in entry:
            continue
        point = Point(entry["point"])
        assert "street" in entry, f"{entry['name']}: a point needs one street"
        assert street_shapes()[entry["street"]].contains(point), entry["name"]
        if "community" in entry:
            assert community_shapes()[entry["community"]].contains(point), entry["name"]


# --- routing -----------------------------------------------------------------------------
def test_routing_phrases() -> None:
    data = routing()
    assert {"urgency", "big_loop"} <= set(data)  # the rest is checked by routerconfig
    groups = data["urgency"]
    assert len(groups) >= 8
    for group in groups:
        assert set(group) == {"priority", "phrases"}
        assert group["priority"] in {1, 2, 3}
        assert len(group["phrases"]) >= 4
        assert len(group["phrases"]) == len(set(group["phrases"]))
    assert {g["priority"] for g in groups} >= {1, 2}
    big_loop = data["big_loop"]
    assert set(big_loop) == {"media", "leader", "cross_street"}
    for key, phrases in big_loop.items():
        assert len(phrases) >= 5, key
        assert all(isinstance(p, str) and p for p in phrases), key


# --- labelled set ------------------------------------------------------------------------
def test_labelled_rows_point_at_real_codes() -> None:
    rows = labelled()
    assert len(rows) >= 330
    categories = {c["code"] for c in catalogue()["categories"]}
    texts: set[str] = set()
    for row in rows:
        assert row["text"] and row["text"] == row["text"].strip()
        assert row["text"] not in texts, f"duplicate: {row['text']}"
        texts.add(row["text"])
        assert row["category"] in categories, row["text"]
        assert row["street"] == "" or row["street"] in STREET_CODES, row["text"]
        assert row["kind"] in KINDS, row["text"]
        assert row["style"] in {"written", "spoken"}, row["text"]


@pytest.mark.parametrize("minimum", [6])
def test_every_category_has_enough_labelled_rows(minimum: int) -> None:
    counts = Counter(row["category"] for row in labelled())
    for category in catalogue()["categories"]:
        assert counts[category["code"]] >= minimum, category["code"]


def test_every_street_has_enough_labelled_rows_and_some_rows_have_none() -> None:
    rows = labelled()
    counts = Counter(row["street"] for row in rows)
    for code in STREET_CODES:
        assert counts[code] >= 14, code
    assert 0.05 <= counts[""] / len(rows) <= 0.2


def test_labelled_set_mixes_styles_and_kinds() -> None:
    rows = labelled()
    styles = Counter(row["style"] for row in rows)
    assert 0.55 <= styles["written"] / len(rows) <= 0.75
    assert set(Counter(row["kind"] for row in rows)) == KINDS
