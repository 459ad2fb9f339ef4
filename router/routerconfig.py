"""The router's reviewed configuration, loaded and checked together (``router/config/``):
catalogue, places and their polygons, gazetteer, routing rules. Every problem is reported as
``file:line: what is wrong`` — at start-up and by ``hotline check-config``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from router import yamlfile
from router.catalogue import Catalogue
from router.gazetteer import Gazetteer, GazetteerData
from router.places import Places, PlaceTree, read_polygons
from router.rules import RoutingRules
from router.yamlfile import ConfigError, YamlFile

CONFIG_DIR = Path(__file__).with_name("config")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RouterConfig:
    folder: Path
    catalogue: Catalogue
    places: Places
    gazetteer: Gazetteer
    rules: RoutingRules


def _model(file: YamlFile, model: type[M], problems: list[str]) -> M | None:
    try:
        return model.model_validate(file.data)
    except ValidationError as exc:
        problems.extend(file.validation_problems(exc))
        return None


def _gazetteer_problems(file: YamlFile, data: GazetteerData, places: Places) -> list[str]:
    found = []
    streets = places.streets
    for i, place in enumerate(data.places):
        for code in place.street_codes:
            if code not in streets:
                found.append(file.error(("places", i), f"{place.name}: unknown street {code}"))
        if (place.community is not None
                and places.community_street(place.community) not in place.street_codes):
            found.append(file.error(("places", i, "community"),
                                    f"{place.name}: {place.community} is not a community of "
                                    f"{', '.join(place.street_codes)}"))
    return found


def load(folder: Path = CONFIG_DIR) -> RouterConfig:
    """Load and check every file; :class:`ConfigError` lists every problem found."""
    problems: list[str] = []
    files = {}
    for name in ("catalogue", "places", "gazetteer", "routing"):
        try:
            files[name] = yamlfile.load(folder / f"{name}.yaml")
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    catalogue = _model(files["catalogue"], Catalogue, problems)
    tree = _model(files["places"], PlaceTree, problems)
    gazetteer = _model(files["gazetteer"], GazetteerData, problems)
    rules = _model(files["routing"], RoutingRules, problems)
    try:
        polygons = read_polygons(folder / "grids.geojson")
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"{folder / 'grids.geojson'}:1: {exc}")
        polygons = {}
    if catalogue is not None:
        problems.extend(files["catalogue"].error(loc, message)
                        for loc, message in catalogue.problems())
    places = Places(tree, polygons=polygons) if tree is not None else None
    if places is not None:
        problems.extend(files["places"].error(loc, message) for loc, message in places.problems())
        if gazetteer is not None:
            problems.extend(_gazetteer_problems(files["gazetteer"], gazetteer, places))
    if problems or catalogue is None or places is None or gazetteer is None or rules is None:
        raise ConfigError(problems)
    return RouterConfig(folder, catalogue, places, Gazetteer(gazetteer, places), rules)


@cache
def shipped() -> RouterConfig:
    """The configuration in the repository (loaded once per process)."""
    return load()
