"""The console's Jinja2 pages: one environment over ``console/templates`` (autoescape on), and
:func:`render`, which gives every template what the layout (``base.html``) needs.

Context every page gets from :func:`render` (besides its own ``**ctx``):

* ``person`` — the logged-in :class:`~console.people.Person` or None;
* ``csrf`` — the token forms put in their ``csrf`` field (and scripts in ``X-CSRF-Token``;
  ``base.html`` also exposes it as ``<meta name="csrf-token">``);
* ``nav`` — the navigation entries for this person (:class:`NavItem`), the current one marked;
* ``softphone`` — the browser softphone's settings (docs/softphone.md) for a person who uses
  it when ``HOTLINE_CONSOLE_SIP_WS`` is set, else None. Render it only as JSON data:
  ``<script type="application/json" id="softphone-config">{{ softphone|tojson }}</script>``;
* ``static(name)`` — the URL of a file under ``console/static`` (with a version query).

Resident data reaches a page only through autoescaped expressions (or JSON fetched by a
script and shown with ``textContent``); no template marks anything ``|safe``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from console.people import Person, Role
from console.sip_digest import REALM
from tickets.speechmodel import not_chinese_note

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/console/static/"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    current: bool


_CENTER = frozenset({Role.operator, Role.supervisor})
_DESK = frozenset({Role.street, Role.department})
# (label, path, the roles that see it)
NAV: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("看板", "/console/", _CENTER),
    ("收件箱", "/console/inbox", _CENTER),
    ("新建工单", "/console/tickets/new", _CENTER),
    ("班长", "/console/supervision", frozenset({Role.supervisor})),
    ("三率督办", "/console/rates", frozenset({Role.supervisor})),
    ("本单位工单", "/console/desk", _DESK),
    ("网格", "/console/grid", frozenset({Role.grid})),
)
ROLE_LABELS = {Role.operator: "话务员", Role.supervisor: "班长", Role.street: "街道",
               Role.department: "部门", Role.grid: "网格员"}


def nav_for(person: Person | None, path: str) -> list[NavItem]:
    if person is None:
        return []
    items = []
    for label, href, roles in NAV:
        if person.role not in roles:
            continue
        current = path == href or (href != "/console/" and path.startswith(href))
        items.append(NavItem(label, href, current))
    return items


@lru_cache(maxsize=256)
def _version(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/console/static/NAME?v=<content hash>``: a changed file gets a new URL."""
    path = STATIC / name
    try:
        stat = path.stat()
    except OSError:
        return f"{STATIC_PREFIX}{name}"
    return f"{STATIC_PREFIX}{name}?v={_version(path, stat.st_mtime_ns, stat.st_size)}"


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = static_url
_env.globals["model_note"] = not_chinese_note
_env.globals["role_labels"] = ROLE_LABELS


def softphone_settings(request: Request, person: Person | None) -> dict[str, Any] | None:
    console = getattr(request.app.state, "console", None)
    if person is None or console is None or console.config.sip_ws is None:
        return None
    if person.phone_kind == "deskphone" or not person.is_center:
        return None
    # the endpoint's digest, never a password (console/sip_digest.py)
    return {"server": console.config.sip_ws, "user": person.sip_user,
            "ha1": person.sip_ha1, "realm": REALM, "domain": console.config.sip_domain,
            "displayName": person.display_name,
            "audioElement": "softphone-audio", "autoAnswer": False, "iceServers": []}


def page_context(request: Request) -> dict[str, Any]:
    session = getattr(request.state, "console_session", None)
    person: Person | None = session.person if session is not None else None
    token = session.csrf_token if session is not None else getattr(
        request.state, "login_csrf", "")
    return {"request": request, "person": person, "csrf": token,
            "nav": nav_for(person, request.url.path),
            "softphone": softphone_settings(request, person)}


def render(request: Request, name: str, status_code: int = 200, *,
           headers: dict[str, str] | None = None, **ctx: Any) -> HTMLResponse:
    """The page ``name`` (under console/templates) as a response."""
    html = _env.get_template(name).render({**page_context(request), **ctx})
    return HTMLResponse(html, status_code=status_code, headers=headers)


def error_page(request: Request, status: int, message: str, *,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "error.html", status, headers=headers, status=status,
                  message=message)
