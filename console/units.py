"""The units desks and grid workers are bound to, as the router's configuration names them:
streets (places.yaml), departments (catalogue.yaml) and grid cells (places.yaml), each as a
destination id (``street:DS``, ``dept:dept.health``, ``grid:DC-DHM-0101``) with its name.

A person is bound to codes that exist when they are added (``hotline operator add``); a code
later removed from the configuration leaves its open tickets without a desk — the district
center's inbox lists them (:func:`orphaned`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.people import UNIT_PREFIX, Role

if TYPE_CHECKING:
    from router.routerconfig import RouterConfig


@dataclass(frozen=True)
class Unit:
    id: str  # street:DS | dept:dept.health | grid:DC-DHM-0101
    name: str
    kind: str  # street | dept | grid


@dataclass(frozen=True)
class Directory:
    units: dict[str, Unit] = field(default_factory=dict)

    @classmethod
    def of(cls, config: RouterConfig) -> Directory:
        found: dict[str, Unit] = {}
        for street in config.places.tree.streets:
            found[f"street:{street.code}"] = Unit(f"street:{street.code}", street.name, "street")
            for community in street.communities:
                for grid in community.grids:
                    found[f"grid:{grid.code}"] = Unit(
                        f"grid:{grid.code}", f"{street.short}·{community.name}·{grid.name}",
                        "grid")
        for dept in config.catalogue.departments:
            found[f"dept:{dept.code}"] = Unit(f"dept:{dept.code}", dept.name, "dept")
        return cls(found)

    def name(self, unit: str) -> str:
        """The unit's name; a unit no longer configured shows its id."""
        known = self.units.get(unit)
        return known.name if known is not None else unit

    def of_kind(self, kind: str) -> list[Unit]:
        return [u for u in self.units.values() if u.kind == kind]

    def unknown(self, role: Role, codes: Iterable[str]) -> list[str]:
        """The codes among ``codes`` that the configuration does not have for ``role``."""
        prefix = UNIT_PREFIX.get(role)
        if prefix is None:
            return []
        return [c for c in codes if f"{prefix}{c.strip()}" not in self.units]

    def orphaned(self, ticket_units: Iterable[str]) -> bool:
        """A ticket routed only to units the configuration no longer has (so no desk sees
        it): it belongs to the district center's inbox."""
        found = list(ticket_units)
        return bool(found) and all(u not in self.units for u in found)


def orphaned_values(directory: Directory, in_use: dict[str, int]) -> list[str]:
    """The ``units`` column values (tickets.worklist.open_by_units) that name only units the
    configuration no longer has."""
    return [value for value in in_use if directory.orphaned(value.split())]
