"""The street and department desks (本单位工单): the unit's worklist and its tickets, and the
actions of console/desk.py.

* ``GET /console/desk`` — the worklist: ``?scope=open`` (default: registered, dispatched, in
  progress) or ``done`` (resolved and after), overdue first then newest, 50 a page (``page``);
* ``GET /console/desk/tickets/{number}`` — one of the unit's tickets: 404 for any other
  number, the same answer as for one that does not exist;
* ``POST /console/desk/tickets/{number}`` — an action (form field ``action``: acknowledge,
  note, send_back, extension, resolve; ``seq``; ``ref``; ``text``; ``deadline``), CSRF-checked.
  A refused action comes back as the ticket page with the reason (409 when somebody else
  changed the ticket first, 422 for a form that cannot be acted on).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import labels, worklist_view
from console.auth import LiveSession, csrf_checked
from console.desk import (
    DESK_ACTIONS,
    TEXT_LIMIT,
    ActionRefused,
    Form,
    act,
    actor_of,
    parse_deadline,
)
from console.errors import ConsoleError
from console.grid import MAX_PHOTO_BYTES, GridRefused, keep_photos
from console.people import Person
from console.router_choices import ChoicesDep
from console.templating import render
from console.ticket_view import history_rows, local_time, media_of, place_text
from tickets import units, worklist
from tickets.deps import MediaDirDep, StoreDep
from tickets.events import KindRefused, StaleEvent, TicketEvent, apply_event
from tickets.model import Ticket
from tickets.status import IllegalTransition
from tickets.store import HistoryFull, Store, TicketNotFound

NOT_FOUND = labels.NOT_FOUND
DONE = {"acknowledge": "已签收", "note": "已记录进展", "extension": "已提交延期申请",
        "resolve": "已办结，答复将告知市民", "photos": "已上传照片"}


async def desk_person(session: LiveSession) -> Person:
    if not session.person.is_desk or not session.person.units:
        raise ConsoleError(403, "此页面只对街道和部门开放")
    return session.person


DeskPerson = Annotated[Person, Depends(desk_person)]


def now_utc() -> datetime:
    return datetime.now(UTC)


def unit_ticket(store: Store, unit: str, ref: str) -> Ticket:
    """The ticket if it is the unit's now; otherwise the same 404 as for no ticket at all."""
    try:
        ticket = store.get(ref)
    except TicketNotFound:
        raise ConsoleError(404, NOT_FOUND) from None
    if unit not in units.units_of(ticket):
        raise ConsoleError(404, NOT_FOUND)
    return ticket


router = APIRouter(include_in_schema=False)


@router.get("/console/desk")
async def desk_page(request: Request, person: DeskPerson, store: StoreDep,
                    choices: ChoicesDep) -> Response:
    scope: worklist.Scope = "done" if request.query_params.get("scope") == "done" else "open"
    try:
        page_no = int(request.query_params.get("page", "1"))
    except ValueError:
        page_no = 1
    unit = person.units[0]
    now = now_utc()
    page = await run_in_threadpool(worklist.for_unit, store, unit, now, scope=scope,
                                   page=page_no)
    config, pick = await choices.get()
    return render(request, "desk.html", page=page, scope=scope,
                  rows=[worklist_view.row_of(i, pick, store.tz, now) for i in page.items],
                  unit_name=worklist_view.directory(config).name(unit), labels=labels)


def _ticket_page(request: Request, store: Store, ticket: Ticket, person: Person,
                 config: Any, pick: Any, status: int = 200, *, problem: str | None = None,
                 notice: str | None = None, text: str = "") -> Response:
    tz = store.tz
    now = now_utc()
    unit = person.units[0]
    return render(
        request, "desk_ticket.html", status, ticket=ticket, labels=labels, tz=tz,
        received=local_time(ticket.received_at, tz), place=place_text(ticket, pick),
        history=history_rows(ticket, tz, pick.name),
        media=[media_of(a) for a in ticket.attachments],
        item=worklist.item_of(ticket, now),
        deadlines=worklist_view.deadlines(ticket, tz, now),
        involved=worklist_view.involved(ticket, worklist_view.directory(config)),
        unit=unit, ref=uuid.uuid4().hex, problem=problem, notice=notice, text=text,
        can=worklist_view.can_do(ticket, unit))


@router.get("/console/desk/tickets/{ref}")
async def desk_ticket(request: Request, ref: str, person: DeskPerson, store: StoreDep,
                      choices: ChoicesDep) -> Response:
    ticket = await run_in_threadpool(unit_ticket, store, person.units[0], ref)
    config, pick = await choices.get()
    notice = DONE.get(request.query_params.get("done", ""))
    return _ticket_page(request, store, ticket, person, config, pick, notice=notice)


@router.post("/console/desk/tickets/{ref}", dependencies=[Depends(csrf_checked)])
async def desk_action(request: Request, ref: str, person: DeskPerson, store: StoreDep,
                      choices: ChoicesDep) -> Response:
    unit = person.units[0]
    ticket = await run_in_threadpool(unit_ticket, store, unit, ref)
    config, pick = await choices.get()
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    text = values.get("text", "")

    def again(status: int, problem: str, current: Ticket | None = None) -> Response:
        return _ticket_page(request, store, current or ticket, person, config, pick, status,
                            problem=problem, text=text)

    action = values.get("action", "")
    if action not in DESK_ACTIONS:
        return again(422, "未知的操作")
    try:
        form = Form(action=action, seq=int(values.get("seq", "")),  # type: ignore[arg-type]
                    ref=values.get("ref", "")[:64] or uuid.uuid4().hex, text=text,
                    deadline=parse_deadline(values["deadline"], store.tz)
                    if values.get("deadline") else None)
    except ValueError as exc:
        return again(422, str(exc) if isinstance(exc, ActionRefused) else "表单不完整，请刷新页面")
    try:
        changed = await run_in_threadpool(act, store, ticket.id, form, actor_of(person), unit,
                                          now_utc())
    except ActionRefused as exc:
        return again(422, str(exc))
    except StaleEvent as exc:
        last = exc.current.history[-1]
        return again(409, labels.DESK_STALE.format(
            actor=last.actor, at=local_time(last.at, store.tz),
            what=worklist_view.what_happened(last)), exc.current)
    except (IllegalTransition, KindRefused):
        current = await run_in_threadpool(store.get, ticket.id)
        return again(409, labels.DESK_ILLEGAL.format(
            status=labels.STATUSES[current.status]), current)
    except HistoryFull:
        return again(409, labels.HISTORY_FULL)
    except TicketNotFound:
        raise ConsoleError(404, NOT_FOUND) from None
    if action == "send_back":
        return RedirectResponse("/console/desk?done=sent_back", 303)
    return RedirectResponse(f"/console/desk/tickets/{changed.number}?done={action}", 303)


@router.post("/console/desk/photos", dependencies=[Depends(csrf_checked)])
async def desk_photos(request: Request, person: DeskPerson, store: StoreDep,
                      media_dir: MediaDirDep, choices: ChoicesDep) -> Response:
    """Photos of the work (with an optional caption) on one of the unit's tickets (form field
    ``number``): an event with ``attachments``; a fixed path, so the upload limit
    (``HOTLINE_MAX_UPLOAD_BYTES``) applies to it."""
    unit = person.units[0]
    async with request.form() as form:  # closes the uploaded files' temporary files
        number, text, ref = form.get("number"), form.get("text"), form.get("ref")
        uploads = [await item.read(MAX_PHOTO_BYTES + 1) for item in form.getlist("photo")
                   if isinstance(item, UploadFile) and item.filename]
    ticket = await run_in_threadpool(unit_ticket, store, unit,
                                     number if isinstance(number, str) else "")
    config, pick = await choices.get()
    try:
        if not uploads:
            raise GridRefused("请选择照片")
        photos = await run_in_threadpool(keep_photos, media_dir, uploads)
    except GridRefused as exc:
        return _ticket_page(request, store, ticket, person, config, pick, 422,
                            problem=str(exc))
    caption = text.strip() if isinstance(text, str) else ""
    event = TicketEvent(actor=actor_of(person),
                        event_id=f"console:{ref if isinstance(ref, str) else uuid.uuid4().hex}"
                        [:100], note=caption[:TEXT_LIMIT] or "现场照片", attachments=photos)
    try:
        await run_in_threadpool(store.change, ticket.id,
                                lambda t, seq, at: apply_event(t, event, seq, at))
    except HistoryFull:
        return _ticket_page(request, store, ticket, person, config, pick, 409,
                            problem=labels.HISTORY_FULL)
    return RedirectResponse(f"/console/desk/tickets/{ticket.number}?done=photos", 303)
