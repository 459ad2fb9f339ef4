"""What the Open311 channel serves: the jurisdiction and the catalogue of services (built by
the composition room from ``HOTLINE_*`` settings and the router's reviewed catalogue)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tickets.model import Kind

# the pseudo-service of requests the client cannot classify: the router classifies them
UNCLASSIFIED = "unclassified"

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist",
                   "multivaluelist"]


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: Datatype
    description: str
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (key, name)
    datatype_description: str | None = None


KIND_NAMES: dict[Kind, str] = {
    Kind.consultation: "咨询",
    Kind.help: "求助",
    Kind.complaint: "投诉",
    Kind.report: "举报",
    Kind.suggestion: "建议",
}

# Attributes every service takes (GET services/{code}): the kind of request and the grid cell
# code printed on the poster where the resident stands. Both are optional.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(code="kind", datatype="singlevaluelist", description="诉求类型",
              values=tuple((k.value, name) for k, name in KIND_NAMES.items())),
    Attribute(code="grid", datatype="string", description="网格编码（见网格公示牌二维码）",
              datatype_description="例如 DC-JDM-01-03"),
)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    group: str
    department: str | None  # the responsible department's name (agency_responsible)
    keywords: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class Catalog:
    services: tuple[Service, ...]
    # is (lon, lat) inside the district's grid? (a point outside goes to the district center)
    in_district: Callable[[float, float], bool] = lambda lon, lat: True

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def name_of(self, code: str | None) -> str:
        service = self.service(code or UNCLASSIFIED)
        return service.name if service else (code or UNCLASSIFIED)


class LazyCatalog:
    """The catalogue, loaded on first use (loading the router's configuration costs a
    segmenter and shapely, which a gateway should not pay for at start-up)."""

    def __init__(self, load: Callable[[], Catalog]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: Catalog | None = None

    def get(self) -> Catalog:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded


@dataclass(frozen=True)
class Open311Config:
    jurisdiction: str | None = None  # HOTLINE_OPEN311_JURISDICTION
    catalog: LazyCatalog = field(default_factory=lambda: LazyCatalog(lambda: Catalog(())))
    public_url: str | None = None  # HOTLINE_PUBLIC_URL: the endpoint discovery names
    contact: str = "96010"
    page_size: int = 100  # default page of GET requests
    max_page_size: int = 1000
    window_days: int = 90  # default and widest date range of GET requests
