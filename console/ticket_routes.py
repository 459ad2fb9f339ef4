"""The inbox and ticket pages of the console (thin glue over tickets/inbox.py, router/edits.py
and console/ticket_view.py).

* ``GET /console/inbox`` — every channel's tickets, newest first, filtered by a GET form
  (channel, kind, status, street, received dates, a ticket number or phone), keyset-paged;
* ``GET /console/tickets/{number}`` — one ticket: every field, the routing decision and its
  reasons, the history with who and when, its recordings and photos, the caller's other
  tickets, and the edit form; ``POST`` saves the form (CSRF-checked; a stale save is refused
  with 409 and the ticket as it is now);
* ``GET|POST /console/tickets/new`` — a ticket for a call answered directly;
* ``GET /console/media/{sha256}.{ext}`` — the gateway's kept files, for a logged-in person.

A form that cannot be saved comes back with the values typed and a message naming the field;
nothing is half-written (every save is one store change).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from console import labels
from console.auth import LiveSession, PagePerson, csrf_checked
from console.errors import ConsoleError
from console.people import actor_of
from console.router_choices import ChoicesDep
from console.templating import render
from console.ticket_view import (
    KIND_OPTIONS,
    Choices,
    Option,
    form_values,
    history_rows,
    local_time,
    media_of,
    place_text,
    routing_rows,
)
from router.edits import (
    LOCKED,
    Edit,
    InvalidEdit,
    NewTicket,
    StaleEdit,
    Uneditable,
    edit_ticket,
    new_ticket,
)
from tickets import inbox, media
from tickets.deps import MediaDirDep, StoreDep
from tickets.inbox import BadCursor, Filters
from tickets.masking import mask_openid, mask_phone
from tickets.model import Channel, Kind, Status, Ticket
from tickets.store import HistoryFull, Store, TicketNotFound

if TYPE_CHECKING:
    pass

PAGE_SIZE = 50
EDIT_FIELDS = ("seq", "text", "kind", "address", "street", "community", "grid", "category",
               "note")
NEW_FIELDS = ("ref", "phone", "name", "kind", "text", "address", "note")
DONE = {"saved": labels.SAVED, "unchanged": labels.UNCHANGED, "created": labels.CREATED}

_PROBLEM_TYPES = {
    "string_too_long": "太长",
    "value_error": "含有不可见的控制字符",
    "enum": "请从列表中选择",
    "int_parsing": "不正确",
    "greater_than_equal": "不正确",
    "uuid_parsing": "不正确，请重新打开此页",
    "missing": "不能为空",
}


def _strings(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names if isinstance(value := form.get(name), str)}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        parts.append(f"{labels.FIELDS.get(field, field)}："
                     f"{_PROBLEM_TYPES.get(error['type'], '不正确')}")
    return "；".join(dict.fromkeys(parts))


def _parse_filters(request: Request, choices: Choices) -> tuple[Filters, list[str]]:
    """The inbox's GET form; values it does not know are named in the problems."""
    params = request.query_params
    problems: list[str] = []
    values: dict[str, Any] = {}

    def pick(name: str, label: str, parse: Callable[[str], Any]) -> None:
        raw = params.get(name, "").strip()
        if not raw:
            return
        try:
            values[name] = parse(raw)
        except ValueError:
            problems.append(f"{label}筛选条件不正确")

    streets = {o.value for o in choices.streets}

    def street(code: str) -> str:
        if code not in streets:
            raise ValueError(code)
        return code

    pick("channel", "渠道", Channel)
    pick("kind", "类型", Kind)
    pick("status", "状态", Status)
    pick("street", "街道", street)
    pick("received_from", "起始日期", date.fromisoformat)
    pick("received_to", "截止日期", date.fromisoformat)
    needs = params.get("needs", "").strip()
    if needs:
        if needs != "1":
            problems.append("待人工筛选条件不正确")
        else:
            values["needs_person"] = True
    query = params.get("q", "").strip()[:64]
    if query:
        if not inbox.search_terms(query).useful:
            problems.append("搜索请输入工单编号或电话号码")
        values["query"] = query
    return Filters(**values), problems


def _filter_params(filters: Filters) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("channel", "kind", "status", "street", "received_from", "received_to"):
        value = getattr(filters, name)
        if value is not None:
            out[name] = str(value)
    if filters.needs_person:
        out["needs"] = "1"
    if filters.query:
        out["q"] = filters.query
    return out


@dataclass(frozen=True)
class Tab:
    label: str
    count: int
    url: str
    current: bool


def _status_tabs(params: dict[str, str], counts: dict[Status, int],
                 current: Status | None) -> list[Tab]:
    """"All" and every status that has tickets under the other filters, with their counts."""
    rest = {k: v for k, v in params.items() if k != "status"}
    tabs = [Tab("全部", sum(counts.values()), f"/console/inbox?{urlencode(rest)}",
                current is None)]
    for status in Status:
        if counts.get(status):
            tabs.append(Tab(labels.STATUSES[status], counts[status],
                            f"/console/inbox?{urlencode({**rest, 'status': status.value})}",
                            status is current))
    return tabs


def _ticket_page(request: Request, store: Store, choices: Choices, ticket: Ticket,
                 status: int = 200, *, form: dict[str, Any] | None = None,
                 problem: str | None = None, notice: str | None = None,
                 unsaved: dict[str, str] | None = None) -> Response:
    tz = store.tz
    history = inbox.caller_history(store, ticket)
    locked = ticket.status in LOCKED
    return render(
        request, "ticket.html", status, ticket=ticket, choices=choices, labels=labels,
        tz=tz, local_time=local_time, received=local_time(ticket.received_at, tz),
        updated=local_time(ticket.updated_at, tz), place=place_text(ticket, choices),
        routing=routing_rows(ticket, choices), history=history_rows(ticket, tz, choices.name),
        media=[media_of(a) for a in ticket.attachments], caller=history,
        openid=mask_openid(ticket.citizen.wechat_openid) if ticket.citizen.wechat_openid
        else None,
        form=form or form_values(ticket), kinds=KIND_OPTIONS, locked=locked,
        locked_message=labels.LOCKED.format(status=labels.STATUSES[ticket.status]),
        problem=problem, notice=notice, unsaved=unsaved)


def _new_page(request: Request, status: int = 200, *, form: dict[str, str] | None = None,
              problem: str | None = None) -> Response:
    values = {"ref": str(uuid.uuid4()), "kind": Kind.unknown.value, **(form or {})}
    return render(request, "new_ticket.html", status, form=values, kinds=KIND_OPTIONS,
                  problem=problem)


async def get_ticket(store: Store, ref: str) -> Ticket:
    try:
        return await run_in_threadpool(store.get, ref)
    except TicketNotFound:
        raise ConsoleError(404, labels.NOT_FOUND) from None


router = APIRouter(include_in_schema=False)


def _orphans(store: Store, config: Any) -> list[Ticket]:
    """Open tickets routed only to units the configuration no longer has: no desk sees them,
    so the inbox shows them first (to be routed again)."""
    from console.units import orphaned_values
    from console.worklist_view import directory
    from tickets import worklist

    values = orphaned_values(directory(config), worklist.open_by_units(store))
    return worklist.open_with_units(store, values, limit=20)


@router.get("/console/inbox")
async def inbox_page(request: Request, person: PagePerson, store: StoreDep,
                     choices: ChoicesDep) -> Response:
    config, pick = await choices.get()
    orphans = await run_in_threadpool(_orphans, store, config)
    filters, problems = _parse_filters(request, pick)
    after = request.query_params.get("after") or None
    if problems:
        return render(request, "inbox.html", 400, rows=[], total=0, filters=filters,
                      tabs=[], next_url=None, first_url=None, problem="；".join(problems),
                      orphans=orphans, **_inbox_ctx(pick, store))

    def read() -> tuple[inbox.Page, dict[Status, int]]:
        return (inbox.page(store, filters, after=after, limit=PAGE_SIZE),
                inbox.counts(store, filters))

    try:
        page, counts = await run_in_threadpool(read)
    except BadCursor:
        raise ConsoleError(400, "翻页参数无效，请从第一页重新开始") from None
    params = _filter_params(filters)
    next_url = (f"/console/inbox?{urlencode({**params, 'after': page.next})}"
                if page.next else None)
    first_url = f"/console/inbox?{urlencode(params)}" if after else None
    total = (counts.get(filters.status, 0) if filters.status is not None
             else sum(counts.values()))
    return render(request, "inbox.html", rows=page.rows, total=total, filters=filters,
                  tabs=_status_tabs(params, counts, filters.status), next_url=next_url,
                  first_url=first_url, problem=None, orphans=orphans,
                  **_inbox_ctx(pick, store))

@router.get("/console/tickets/new")
async def new_form(request: Request, person: PagePerson) -> Response:
    return _new_page(request)

@router.post("/console/tickets/new", dependencies=[Depends(csrf_checked)])
async def create(request: Request, person: PagePerson, store: StoreDep) -> Response:
    values = _strings(await request.form(), NEW_FIELDS)
    try:
        new = NewTicket.model_validate(values)
    except ValidationError as exc:
        return _new_page(request, 422, form=values, problem=_validation_message(exc))
    try:
        result = await run_in_threadpool(new_ticket, store, new, actor_of(person))
    except InvalidEdit as exc:
        return _new_page(request, 422, form=values,
                         problem=labels.refused(exc.field, exc.problem))
    return RedirectResponse(f"/console/tickets/{result.ticket.number}?done=created", 303)

@router.get("/console/tickets/{ref}")
async def ticket_page(request: Request, ref: str, person: PagePerson,
                      store: StoreDep, choices: ChoicesDep) -> Response:
    _, pick = await choices.get()
    ticket = await get_ticket(store, ref)
    notice = DONE.get(request.query_params.get("done", ""))
    return await run_in_threadpool(_ticket_page, request, store, pick, ticket,
                                   notice=notice)

@router.post("/console/tickets/{ref}", dependencies=[Depends(csrf_checked)])
async def save(request: Request, ref: str, person: PagePerson,
               store: StoreDep, choices: ChoicesDep) -> Response:
    config, pick = await choices.get()
    values = _strings(await request.form(), EDIT_FIELDS)

    async def again(status: int, problem: str, *, current: Ticket | None = None,
                    keep_form: bool = True, unsaved: dict[str, str] | None = None
                    ) -> Response:
        ticket = current or await get_ticket(store, ref)
        form = {**form_values(ticket), **values} if keep_form else None
        return await run_in_threadpool(
            lambda: _ticket_page(request, store, pick, ticket, status, form=form,
                                 problem=problem, unsaved=unsaved))

    try:
        edit = Edit.model_validate(values)
    except ValidationError as exc:
        return await again(422, _validation_message(exc))
    try:
        ticket = await run_in_threadpool(edit_ticket, store, config.places,
                                         config.catalogue, ref, edit, actor_of(person))
    except TicketNotFound:
        raise ConsoleError(404, labels.NOT_FOUND) from None
    except StaleEdit as exc:
        return await again(409, labels.STALE, current=exc.current, keep_form=False,
                           unsaved=values)
    except Uneditable as exc:
        return await again(409, labels.LOCKED.format(
            status=labels.STATUSES[exc.ticket.status]), current=exc.ticket,
            keep_form=False)
    except InvalidEdit as exc:
        return await again(422, labels.refused(exc.field, exc.problem))
    except HistoryFull:
        return await again(409, labels.HISTORY_FULL, keep_form=False)
    done = "unchanged" if ticket.seq == edit.seq else "saved"
    return RedirectResponse(f"/console/tickets/{ticket.number}?done={done}", 303)

# the kept files (content-addressed: a name is the file's sha256) for anyone logged in: the
# center, and the desks and grid workers who see the photos of their tickets
media_router = APIRouter(include_in_schema=False)


@media_router.get("/console/media/{name}")
async def media_file(name: str, session: LiveSession, media_dir: MediaDirDep) -> Response:
    path = media.resolve(media_dir, name)
    if path is None:
        raise ConsoleError(404, "没有这个文件")
    return FileResponse(path, media_type=media.content_type_of(name),
                        headers={"Cache-Control": "private, no-store"})


def _inbox_ctx(choices: Choices, store: Store) -> dict[str, Any]:
    return {
        "choices": choices, "labels": labels, "tz": store.tz, "local_time": local_time,
        "mask_phone": mask_phone,
        "channels": [Option(c.value, labels.CHANNELS[c]) for c in Channel],
        "kinds": KIND_OPTIONS,
        "statuses": [Option(s.value, labels.STATUSES[s]) for s in Status],
    }
