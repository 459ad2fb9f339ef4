"""FastAPI dependencies that guard the console's routes.

* :func:`current_session` — the request's live session or None (looked up once per request
  and kept on ``request.state.console_session`` for :func:`console.templating.render`).
* :func:`page_person` — a page: the person, or a redirect to ``/console/login?next=…``.
* :func:`api_person` — a script's request (JSON, SSE): the person, or 401 JSON.
* :func:`supervisor` — the person if a supervisor, else 403 (not logged in: as above).
* :func:`center_only` — the district center's pages: a desk or grid worker gets 403 (or, at
  ``/console/``, a redirect to their own page: :func:`home_of`).
* :func:`csrf_checked` — on POST/PUT/PATCH/DELETE the token of the session must come in the
  form field ``csrf`` or the header ``X-CSRF-Token`` (403 otherwise).

Each depends on :func:`console.state.console_of`, so every guarded route answers 503 while
the console is disabled. Use them as ``person: PagePerson`` or
``dependencies=[Depends(csrf_checked)]``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from console import csrf
from console.errors import ConsoleError, LoginRequired, Redirect, wants_html
from console.people import Person, Role
from console.sessions import COOKIE, ConsoleSession
from console.state import Console, console_of

ConsoleDep = Annotated[Console, Depends(console_of)]


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def current_session(request: Request, console: ConsoleDep) -> ConsoleSession | None:
    if hasattr(request.state, "console_session"):
        found: ConsoleSession | None = request.state.console_session
        return found
    token = console.sessions.token_of(request.cookies.get(COOKIE))
    session = await run_in_threadpool(console.sessions.find, token) if token else None
    request.state.console_session = session
    return session


SessionDep = Annotated[ConsoleSession | None, Depends(current_session)]


async def logged_in(request: Request, session: SessionDep) -> ConsoleSession:
    """The live session; not logged in: a browser is redirected, a script gets 401."""
    if session is None:
        if wants_html(request):
            raise LoginRequired(_here(request))
        raise ConsoleError(401, "请先登录", code="login_required")
    return session


async def page_person(request: Request, session: SessionDep) -> Person:
    if session is None:
        raise LoginRequired(_here(request))
    return session.person


async def api_person(session: SessionDep) -> Person:
    if session is None:
        raise ConsoleError(401, "请先登录", code="login_required")
    return session.person


LiveSession = Annotated[ConsoleSession, Depends(logged_in)]


async def supervisor(session: LiveSession) -> Person:
    if not session.person.is_supervisor:
        raise ConsoleError(403, "只有班长可以使用此功能")
    return session.person


async def csrf_checked(request: Request, session: LiveSession) -> None:
    if request.method in csrf.SAFE_METHODS:
        return
    given = request.headers.get(csrf.HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
            value = (await request.form()).get(csrf.FIELD)
            given = value if isinstance(value, str) else None
    if not csrf.matches(session.csrf_token, given):
        raise ConsoleError(403, "页面已过期或来源不明，请刷新页面后重试", code="csrf")


HOME = {Role.street: "/console/desk", Role.department: "/console/desk",
        Role.grid: "/console/grid"}


def home_of(person: Person) -> str:
    """Where a person's console starts: the board for the district center, the desk for a
    street or department, the phone page for a grid worker."""
    return HOME.get(person.role, "/console/")


async def center_only(request: Request, session: SessionDep) -> None:
    """The district center's pages (board, inbox, every ticket): a desk or a grid worker is
    sent to their own page (a browser asking for ``/console/``) or refused with 403 — the
    same answer whatever ticket number was asked for. Not logged in: the route's own guard
    answers."""
    if session is None or session.person.is_center:
        return
    if request.method == "GET" and request.url.path == "/console/" and wants_html(request):
        raise Redirect(home_of(session.person))
    raise ConsoleError(403, "此页面只对区中心开放", code="center_only")


PagePerson = Annotated[Person, Depends(page_person)]
ApiPerson = Annotated[Person, Depends(api_person)]
Supervisor = Annotated[Person, Depends(supervisor)]
