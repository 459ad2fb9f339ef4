"""The place hierarchy of the district (``places.yaml``: district > streets > communities > grid
cells) and the cells' polygons (``grids.geojson``, WGS-84), with point → grid cell lookup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import shapely
from pydantic import BaseModel, ConfigDict, StringConstraints
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

StreetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,5}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grid(_Frozen):
    code: Annotated[str, StringConstraints(pattern=r"^DC-[A-Z]{2,5}-\d{4}$")]
    name: str


class Community(_Frozen):
    code: Annotated[str, StringConstraints(pattern=r"^DC-[A-Z]{2,5}-\d{2}$")]
    name: str
    real: bool
    grids: list[Grid]


class Street(_Frozen):
    code: StreetCode
    name: str
    short: str
    aliases: list[str] = []
    real: bool
    center: tuple[float, float]
    communities: list[Community]


class District(_Frozen):
    code: str
    name: str


class PlaceTree(_Frozen):
    district: District
    streets: list[Street]


@dataclass(frozen=True)
class Cell:
    """Where a grid cell is in the hierarchy."""

    grid: str
    community: str
    street: str


@dataclass
class Places:
    tree: PlaceTree
    cells: dict[str, Cell] = field(default_factory=dict)
    polygons: dict[str, shapely.Polygon] = field(default_factory=dict)
    _index: STRtree | None = None
    _codes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for street in self.tree.streets:
            for community in street.communities:
                for grid in community.grids:
                    self.cells[grid.code] = Cell(grid.code, community.code, street.code)
        self._codes = sorted(self.polygons)
        self._index = STRtree([self.polygons[c] for c in self._codes]) if self._codes else None

    @property
    def streets(self) -> dict[str, Street]:
        return {s.code: s for s in self.tree.streets}

    def street(self, code: str) -> Street | None:
        return self.streets.get(code)

    def community_street(self, code: str) -> str | None:
        for street in self.tree.streets:
            if any(c.code == code for c in street.communities):
                return street.code
        return None

    def cell_at(self, lon: float, lat: float) -> Cell | None:
        """The grid cell whose polygon contains the WGS-84 point, or None outside them all."""
        if self._index is None:
            return None
        point = Point(lon, lat)
        for i in self._index.query(point, predicate="intersects"):
            return self.cells.get(self._codes[int(i)])
        return None

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        found: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for i, street in enumerate(self.tree.streets):
            if street.code in seen:
                found.append((("streets", i, "code"), f"street code {street.code} twice"))
            seen.add(street.code)
            for j, community in enumerate(street.communities):
                if not community.code.startswith(f"DC-{street.code}-"):
                    found.append((("streets", i, "communities", j, "code"),
                                  f"{community.code} is not a code of street {street.code}"))
                for k, grid in enumerate(community.grids):
                    if not grid.code.startswith(community.code):
                        found.append((("streets", i, "communities", j, "grids", k, "code"),
                                      f"{grid.code} is not a cell of {community.code}"))
                    if grid.code not in self.polygons:
                        found.append((("streets", i, "communities", j, "grids", k, "code"),
                                      f"{grid.code} has no polygon in grids.geojson"))
        for code in self.polygons:
            if code not in self.cells:
                found.append((("streets",), f"grids.geojson has {code}, places.yaml does not"))
        return found


def read_polygons(path: Path) -> dict[str, shapely.Polygon]:
    """``{grid code: polygon}`` of a GeoJSON FeatureCollection (ValueError when malformed)."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    polygons: dict[str, shapely.Polygon] = {}
    for feature in data.get("features", []):
        code = feature["properties"]["code"]
        geometry = shape(feature["geometry"])
        if not isinstance(geometry, shapely.Polygon) or not geometry.is_valid:
            raise ValueError(f"{code}: not a valid polygon")
        polygons[str(code)] = geometry
    return polygons
