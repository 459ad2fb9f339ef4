"""The grid worker's phone page (网格员, role ``grid``): one column, big buttons.

* ``GET /console/grid`` — the tasks in the worker's cells (open tickets located there,
  overdue first) and the button to report a finding;
* ``GET|POST /console/grid/report`` — 采集: text, the cell (the worker's own), the browser's
  location (the cell it falls in is shown), photos from the camera → a ticket with provenance
  ``grid:<cell>`` that goes through the router like any other;
* ``GET /console/grid/where?lat=&lon=`` — JSON: the grid cell of a point (for the page's
  script);
* ``GET /console/grid/tasks/{number}`` — a task (404 unless located in one of the worker's
  cells); ``POST /console/grid/note`` — an on-site note and photos (form field ``number``),
  through the events path.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from console import labels, worklist_view
from console.auth import LiveSession, csrf_checked
from console.errors import ConsoleError
from console.grid import GridRefused, finding_of, intake_of, keep_photos, on_site
from console.people import Person
from console.router_choices import ChoicesDep
from console.templating import render
from console.ticket_view import history_rows, local_time, media_of
from tickets import worklist
from tickets.deps import MediaDirDep, StoreDep
from tickets.events import apply_event
from tickets.model import Ticket
from tickets.store import HistoryFull, Store, TicketNotFound

MAX_PHOTO_READ = 8 * 1024 * 1024 + 1


async def grid_person(session: LiveSession) -> Person:
    if not session.person.cells:
        raise ConsoleError(403, "此页面只对网格员开放")
    return session.person


GridPerson = Annotated[Person, Depends(grid_person)]
router = APIRouter(include_in_schema=False)


def _cells(person: Person, config: Any) -> list[tuple[str, str]]:
    units_dir = worklist_view.directory(config)
    return [(c, units_dir.name(f"grid:{c}")) for c in person.cells]


async def _photos(form: Any) -> list[bytes]:
    found = []
    for item in form.getlist("photo"):
        if isinstance(item, UploadFile) and item.filename:
            found.append(await item.read(MAX_PHOTO_READ))
    return found


@router.get("/console/grid")
async def grid_home(request: Request, person: GridPerson, store: StoreDep,
                    choices: ChoicesDep) -> Response:
    now = datetime.now(UTC)
    page = await run_in_threadpool(worklist.for_cells, store, person.cells, now)
    config, pick = await choices.get()
    return render(request, "grid.html", cells=_cells(person, config), page=page,
                  rows=[worklist_view.row_of(i, pick, store.tz, now) for i in page.items],
                  created=request.query_params.get("created", ""))


def _report_page(request: Request, person: Person, config: Any, status: int = 200, *,
                 problem: str | None = None, values: dict[str, str] | None = None
                 ) -> Response:
    return render(request, "grid_report.html", status, cells=_cells(person, config),
                  ref=uuid.uuid4().hex, problem=problem, values=values or {})


@router.get("/console/grid/report")
async def report_form(request: Request, person: GridPerson, choices: ChoicesDep) -> Response:
    config, _ = await choices.get()
    return _report_page(request, person, config)


@router.post("/console/grid/report", dependencies=[Depends(csrf_checked)])
async def report(request: Request, person: GridPerson, store: StoreDep,
                 media_dir: MediaDirDep, choices: ChoicesDep) -> Response:
    config, _ = await choices.get()
    async with request.form() as form:  # closes the uploaded files' temporary files
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        uploads = await _photos(form)
    try:
        finding = finding_of(person, values)
        photos = await run_in_threadpool(keep_photos, media_dir, uploads)
    except GridRefused as exc:
        return _report_page(request, person, config, 422, problem=str(exc), values=values)
    cell = config.places.cells.get(finding.cell)
    intake = intake_of(finding, cell.street if cell else None,
                       cell.community if cell else None, photos, datetime.now(UTC))
    result = await run_in_threadpool(store.submit, intake)
    return RedirectResponse(f"/console/grid?created={result.ticket.number}", 303)


@router.get("/console/grid/where")
async def where(person: GridPerson, choices: ChoicesDep, lat: float, lon: float
                ) -> JSONResponse:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConsoleError(422, "位置不正确")
    config, _ = await choices.get()
    cell = await run_in_threadpool(config.places.cell_at, lon, lat)
    if cell is None:
        return JSONResponse({"grid": None, "name": "不在本区网格内", "mine": False})
    name = worklist_view.directory(config).name(f"grid:{cell.grid}")
    return JSONResponse({"grid": cell.grid, "name": name, "mine": cell.grid in person.cells})


def cell_ticket(store: Store, person: Person, ref: str) -> Ticket:
    """A task of the worker's cells, else the same 404 as for no ticket."""
    try:
        ticket = store.get(ref)
    except TicketNotFound:
        raise ConsoleError(404, labels.NOT_FOUND) from None
    grid = ticket.location.grid if ticket.location else None
    if grid is None or grid not in person.cells:
        raise ConsoleError(404, labels.NOT_FOUND)
    return ticket


def _task_page(request: Request, store: Store, ticket: Ticket, status: int = 200, *,
               problem: str | None = None, notice: str | None = None) -> Response:
    now = datetime.now(UTC)
    return render(request, "grid_task.html", status, ticket=ticket, labels=labels,
                  received=local_time(ticket.received_at, store.tz),
                  deadlines=worklist_view.deadlines(ticket, store.tz, now),
                  history=history_rows(ticket, store.tz),
                  media=[media_of(a) for a in ticket.attachments], ref=uuid.uuid4().hex,
                  problem=problem, notice=notice)


@router.get("/console/grid/tasks/{ref}")
async def task(request: Request, ref: str, person: GridPerson, store: StoreDep) -> Response:
    ticket = await run_in_threadpool(cell_ticket, store, person, ref)
    notice = "已记录现场情况" if request.query_params.get("done") == "note" else None
    return _task_page(request, store, ticket, notice=notice)


@router.post("/console/grid/note", dependencies=[Depends(csrf_checked)])
async def note(request: Request, person: GridPerson, store: StoreDep,
               media_dir: MediaDirDep) -> Response:
    async with request.form() as form:  # closes the uploaded files' temporary files
        number, text, ref = form.get("number"), form.get("text"), form.get("ref")
        uploads = await _photos(form)
    ticket = await run_in_threadpool(cell_ticket, store, person,
                                     number if isinstance(number, str) else "")
    assert ticket.location is not None and ticket.location.grid is not None
    cell = ticket.location.grid
    try:
        photos = await run_in_threadpool(keep_photos, media_dir, uploads)
        event = on_site(person, cell, ref if isinstance(ref, str) else uuid.uuid4().hex,
                        text if isinstance(text, str) else "", photos)
    except GridRefused as exc:
        return _task_page(request, store, ticket, 422, problem=str(exc))
    try:
        await run_in_threadpool(store.change, ticket.id,
                                lambda t, seq, at: apply_event(t, event, seq, at))
    except HistoryFull:
        return _task_page(request, store, ticket, 409, problem=labels.HISTORY_FULL)
    return RedirectResponse(f"/console/grid/tasks/{ticket.number}?done=note", 303)
