"""Open311 requests from clients → what the gateway does with them (pure; no I/O).

Every parser takes the request's fields as ``(name, value)`` pairs (query string or
form-encoded body, repeats kept) and raises :class:`Open311Error` (400) naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from channels.open311.config import UNCLASSIFIED, Catalog, Open311Config
from channels.open311.errors import Open311Error
from channels.open311.status import OpenClosed
from tickets.model import NUMBER_PATTERN, Kind, has_controls

Pairs = Sequence[tuple[str, str]]

_ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,64})\](\[\])?$")
_NUMBER = re.compile(NUMBER_PATTERN)
_DIGITS = re.compile(r"[0-9]{1,9}")
MAX_IDS = 100
DESCRIPTION_LIMIT = 4000
REF_LIMIT = 64


def _first(pairs: Pairs, name: str) -> str | None:
    value = next((v for k, v in pairs if k == name), None)
    if value is None:
        return None
    value = value.strip()
    if has_controls(value):
        raise Open311Error(400, f"{name}: control characters are not allowed")
    return value or None


def _text(pairs: Pairs, name: str, limit: int) -> str | None:
    value = _first(pairs, name)
    if value is not None and len(value) > limit:
        raise Open311Error(400, f"{name}: at most {limit} characters")
    return value


def w3c_datetime(value: str, name: str) -> datetime:
    """A W3C (ISO 8601) date-time with its offset: ``2010-01-01T00:00:00Z``."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: not a W3C date-time such as "
                                "2010-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name}: the date-time needs a time zone (Z or +08:00)")
    return parsed.astimezone(UTC)


def _float(pairs: Pairs, name: str, low: float, high: float) -> float | None:
    value = _first(pairs, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name}: not a number") from None
    if not low <= number <= high:  # also refuses nan
        raise Open311Error(400, f"{name}: must be between {low} and {high}")
    return number


def check_jurisdiction(config: Open311Config, pairs: Pairs) -> None:
    """A set ``HOTLINE_OPEN311_JURISDICTION`` must be named (400); another one is unknown
    (404). Unset: the gateway serves one jurisdiction and needs none."""
    given = _first(pairs, "jurisdiction_id")
    if config.jurisdiction is not None and given is None:
        raise Open311Error(400, "jurisdiction_id is required: "
                                f"jurisdiction_id={config.jurisdiction}")
    if given is not None and given != config.jurisdiction:
        raise Open311Error(404, f"jurisdiction_id '{given[:64]}' is not served here")


# -- GET requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """GET requests: by ids (overrides every other filter) or by the other filters."""

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: frozenset[OpenClosed] = frozenset()
    page: int = 1
    page_size: int = 100


def _split(pairs: Pairs, name: str) -> list[str]:
    """A field that may be repeated and/or comma delimited."""
    found = [part.strip() for k, v in pairs if k == name for part in v.split(",")
             if part.strip()]
    if any(has_controls(f) or len(f) > 100 for f in found):
        raise Open311Error(400, f"{name}: printable values of at most 100 characters")
    return found


def _positive(pairs: Pairs, name: str, default: int, high: int) -> int:
    value = _first(pairs, name)
    if value is None:
        return default
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= high:
        raise Open311Error(400, f"{name}: a whole number from 1 to {high}")
    return int(value)


def parse_query(config: Open311Config, pairs: Pairs, now: datetime) -> Query:
    ids = _split(pairs, "service_request_id")
    if len(ids) > MAX_IDS:
        raise Open311Error(400, f"service_request_id: at most {MAX_IDS} ids at once")
    numbers = tuple(dict.fromkeys(i for i in ids if _NUMBER.fullmatch(i)))
    page = _positive(pairs, "page", 1, 1_000_000)
    page_size = _positive(pairs, "page_size", config.page_size, config.max_page_size)
    if ids:
        return Query(numbers=numbers, page=page, page_size=page_size)
    statuses: set[OpenClosed] = set()
    for s in _split(pairs, "status"):
        try:
            statuses.add(OpenClosed(s.lower()))
        except ValueError:
            raise Open311Error(400, "status: open, closed or both (comma delimited)") from None
    start_text, end_text = _first(pairs, "start_date"), _first(pairs, "end_date")
    start = w3c_datetime(start_text, "start_date") if start_text else None
    end = w3c_datetime(end_text, "end_date") if end_text else None
    window = timedelta(days=config.window_days)
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - window
    if end is None:
        end = start + window
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > window:
        raise Open311Error(400, f"start_date and end_date may span at most "
                                f"{config.window_days} days")
    return Query(service_codes=tuple(dict.fromkeys(_split(pairs, "service_code"))),
                 start=start, end=end, statuses=frozenset(statuses), page=page,
                 page_size=page_size)


# -- POST requests ----------------------------------------------------------------------------

@dataclass(frozen=True)
class NewRequest:
    service_code: str
    category: str | None  # None for the unclassified pseudo-service
    lat: float | None
    lon: float | None
    address: str | None
    description: str
    media_url: str | None
    name: str | None
    phone: str | None
    kind: Kind
    grid: str | None
    idempotency: str | None  # "<device or account>:<client reference>", or None
    attributes: tuple[tuple[str, str], ...]


def attributes(pairs: Pairs) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        match = _ATTRIBUTE.match(name)
        if match is not None:
            if has_controls(value) or len(value) > 500:
                raise Open311Error(400, f"{name}: at most 500 printable characters")
            found.setdefault(match.group(1), []).append(value.strip())
    return found


def _media_url(pairs: Pairs) -> str | None:
    url = _text(pairs, "media_url", 2048)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311Error(400, "media_url: an http(s) URL")
    return url


def client_reference(pairs: Pairs, header: str | None) -> str | None:
    """The client's own id of this request: the ``Idempotency-Key`` header, else
    ``attribute[client_ref]``, else ``attribute[fixmystreet_id]`` (what FixMyStreet sends)."""
    attrs = attributes(pairs)
    for candidate in (header, *attrs.get("client_ref", [])[:1],
                      *attrs.get("fixmystreet_id", [])[:1]):
        if candidate and candidate.strip():
            ref = candidate.strip()
            if len(ref) > REF_LIMIT or has_controls(ref):
                raise Open311Error(400, f"the client reference: at most {REF_LIMIT} printable "
                                        "characters")
            return ref
    return None


def parse_new_request(catalog: Catalog, pairs: Pairs, idempotency_header: str | None
                      ) -> NewRequest:
    """A POST requests body. ``service_code`` must be a service of ``catalog`` (400 otherwise);
    ``lat`` + ``long`` or ``address_string`` are required."""
    code = _first(pairs, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required (GET services.xml lists them)")
    if catalog.service(code) is None:
        raise Open311Error(400, f"service_code '{code[:64]}' is not a service of this "
                                "jurisdiction (GET services.xml lists them)")
    lat = _float(pairs, "lat", -90, 90)
    lon = _float(pairs, "long", -180, 180)
    address = _text(pairs, "address_string", 500)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long come together")
    if lat is None and address is None:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    description = _text(pairs, "description", DESCRIPTION_LIMIT) or ""
    first, last = _text(pairs, "first_name", 50), _text(pairs, "last_name", 50)
    name = "".join(p for p in (last, first) if p) or None
    attrs = attributes(pairs)
    kind_text = (attrs.get("kind") or [""])[0]
    try:
        kind = Kind(kind_text) if kind_text else Kind.unknown
    except ValueError:
        raise Open311Error(400, "attribute[kind]: one of "
                                + ", ".join(k.value for k in Kind if k is not Kind.unknown)
                           ) from None
    grid = (attrs.get("grid") or [""])[0][:64] or None
    ref = client_reference(pairs, idempotency_header)
    who = _text(pairs, "device_id", 100) or _text(pairs, "account_id", 100) or "-"
    return NewRequest(
        service_code=code,
        category=None if code == UNCLASSIFIED else code,
        lat=lat, lon=lon, address=address, description=description,
        media_url=_media_url(pairs), name=name, phone=_text(pairs, "phone", 40),
        kind=kind, grid=grid,
        idempotency=None if ref is None else f"{who}:{ref}",
        attributes=tuple((k, ",".join(v)) for k, v in attrs.items()),
    )


# -- POST servicerequestupdates ---------------------------------------------------------------

@dataclass(frozen=True)
class NewUpdate:
    number: str
    state: str  # FixMyStreet's state, upper case
    description: str | None
    media_url: str | None
    client_update_id: str | None
    updated_at: datetime | None


def parse_new_update(pairs: Pairs, states: frozenset[str]) -> NewUpdate:
    number = _first(pairs, "service_request_id")
    if number is None or not _NUMBER.fullmatch(number):
        raise Open311Error(400, "service_request_id: the request's id (a ticket number)")
    state = (_first(pairs, "status") or "").upper()
    if state not in states:
        raise Open311Error(400, "status: one of " + ", ".join(sorted(states)))
    stamp = _first(pairs, "updated_datetime")
    return NewUpdate(
        number=number, state=state,
        description=_text(pairs, "description", DESCRIPTION_LIMIT),
        media_url=_media_url(pairs),
        client_update_id=_text(pairs, "update_id", REF_LIMIT),
        updated_at=w3c_datetime(stamp, "updated_datetime") if stamp else None,
    )


def update_window(pairs: Pairs, now: datetime) -> tuple[datetime, datetime]:
    """GET servicerequestupdates: ``[start_date, end_date]``, by default the last 24 hours,
    at most 90 days wide."""
    start_text, end_text = _first(pairs, "start_date"), _first(pairs, "end_date")
    start = w3c_datetime(start_text, "start_date") if start_text else None
    end = w3c_datetime(end_text, "end_date") if end_text else max(now, start or now)
    start = start or end - timedelta(days=1)
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > timedelta(days=90):
        raise Open311Error(400, "start_date and end_date may span at most 90 days")
    return start, end
