"""The supervision page (三率督办, supervisors only): the three rates per street, department
or category over a day, week or month with the ranking and a chart; the overdue tickets with
督办 (urge); the extensions waiting for an answer; open tickets whose unit left the
configuration. Every table also as CSV.

* ``GET /console/rates`` — ``period`` (day | week | month), ``day`` (YYYY-MM-DD, local; default
  today), ``group`` (street | dept | category);
* ``GET /console/rates.csv`` — the same parameters and ``table`` (rates | overdue |
  extensions);
* ``POST /console/rates/tickets/{number}`` — ``action`` urge | grant | refuse with ``seq``,
  ``ref``, ``text``, ``deadline`` (CSRF-checked), through the events path (console/desk.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import labels, rates_view, worklist_view
from console.auth import Supervisor, csrf_checked
from console.desk import SUPERVISOR_ACTIONS, ActionRefused, Form, act, parse_deadline
from console.errors import ConsoleError
from console.people import actor_of
from console.router_choices import ChoicesDep
from console.templating import render
from console.ticket_view import Choices, local_time
from console.units import Directory, orphaned_values
from tickets import rates, units, worklist
from tickets.deps import StoreDep
from tickets.events import KindRefused, StaleEvent
from tickets.model import Ticket
from tickets.status import IllegalTransition
from tickets.store import HistoryFull, Store, TicketNotFound

Group = Literal["street", "dept", "category"]
GROUPS: dict[str, str] = {"street": "街道", "dept": "部门", "category": "类别"}
PERIODS: dict[str, str] = {"day": "日", "week": "周", "month": "月"}
DONE = {"urge": "已督办", "grant": "已同意延期", "refuse": "已不同意延期"}


@dataclass(frozen=True)
class Query:
    period: rates.Period
    group: Group

    def params(self, **more: str) -> str:
        return urlencode({"period": self.period.kind, "day": self.period.first.isoformat(),
                          "group": self.group, **more})


def parse_query(request: Request, store: Store, now: datetime) -> Query:
    params = request.query_params
    kind = params.get("period", "month")
    group = params.get("group", "street")
    if kind not in PERIODS or group not in GROUPS:
        raise ConsoleError(400, "统计周期或分组不正确")
    try:
        day = date.fromisoformat(params["day"]) if params.get("day") else \
            now.astimezone(store.tz).date()
    except ValueError:
        raise ConsoleError(400, "日期格式不正确") from None
    return Query(rates.period_of(kind, day, store.tz), group)  # type: ignore[arg-type]


def table_of(found: list[Ticket], now: datetime, query: Query) -> list[rates.Figures]:
    if query.group == "category":
        return rates.ranking(rates.compute(found, now, "category"))
    prefix = units.STREET if query.group == "street" else units.DEPARTMENT
    return rates.ranking(rates.compute(found, now, "unit",
                                       keep=lambda key: key.startswith(prefix)))


def namer(query: Query, units_dir: Directory, choices: Choices) -> Any:
    if query.group == "category":
        return lambda key: choices.name(key)
    return units_dir.name


@dataclass(frozen=True)
class Open:
    """An open ticket on the page: overdue (督办), or waiting for an extension answer."""

    number: str
    seq: int
    units: str
    status: str
    deadline: str
    left: str
    urged: int
    note: str  # the extension's reason and the deadline asked for


def _open_row(t: Ticket, units_dir: Directory, tz: Any, now: datetime) -> Open:
    routing = t.routing
    deadline = routing.resolve_by if routing else None
    if routing is not None and t.status in worklist.NOT_STARTED and routing.respond_by \
            and routing.respond_by < now:
        deadline = routing.respond_by  # late to acknowledge: that is the deadline missed
    asked = next((h for h in reversed(t.history) if h.kind is not None
                  and h.kind.value == "extension_requested"), None)
    return Open(t.number, t.seq, "、".join(units_dir.name(u) for u in units.units_of(t)),
                labels.STATUSES[t.status], local_time(deadline, tz),
                worklist_view.remaining(deadline, now), worklist.urges(t),
                (asked.note or "") if asked else "")


def _gather(store: Store, query: Query, now: datetime) -> dict[str, Any]:
    found = rates.received_in(store, query.period)
    return {"table": table_of(found, now, query), "overdue": worklist.overdue(store, now),
            "extensions": worklist.asked_extension(store),
            "in_use": worklist.open_by_units(store)}


router = APIRouter(include_in_schema=False)


@router.get("/console/rates")
async def rates_page(request: Request, person: Supervisor, store: StoreDep,
                     choices: ChoicesDep) -> Response:
    now = datetime.now(UTC)
    query = parse_query(request, store, now)
    config, pick = await choices.get()
    units_dir = worklist_view.directory(config)
    data = await run_in_threadpool(_gather, store, query, now)
    rows = rates_view.rows_of(data["table"], namer(query, units_dir, pick))
    pending = data["extensions"]
    orphans = await run_in_threadpool(worklist.open_with_units, store,
                                      orphaned_values(units_dir, data["in_use"]))
    return render(
        request, "rates.html", query=query, groups=GROUPS, periods=PERIODS, rows=rows,
        columns=rates_view.COLUMNS, chart=rates_view.chart_of(rows),
        overdue=[_open_row(i.ticket, units_dir, store.tz, now) for i in data["overdue"]],
        extensions=[_open_row(t, units_dir, store.tz, now) for t in pending],
        orphans=[_open_row(t, units_dir, store.tz, now) for t in orphans],
        ref=uuid.uuid4().hex, notice=DONE.get(request.query_params.get("done", "")),
        problem=None)


@router.get("/console/rates.csv")
async def rates_csv(request: Request, person: Supervisor, store: StoreDep,
                    choices: ChoicesDep) -> Response:
    now = datetime.now(UTC)
    query = parse_query(request, store, now)
    which = request.query_params.get("table", "rates")
    config, pick = await choices.get()
    units_dir = worklist_view.directory(config)
    data = await run_in_threadpool(_gather, store, query, now)
    if which == "rates":
        text = rates_view.rate_csv(rates_view.rows_of(data["table"],
                                                      namer(query, units_dir, pick)))
    elif which in ("overdue", "extensions"):
        tickets = ([i.ticket for i in data["overdue"]] if which == "overdue"
                   else data["extensions"])
        found = [_open_row(t, units_dir, store.tz, now) for t in tickets]
        text = rates_view.csv_text(
            ("工单编号", "承办单位", "状态", "办结期限", "剩余", "督办次数", "延期说明"),
            [[o.number, o.units, o.status, o.deadline, o.left, str(o.urged), o.note]
             for o in found])
    else:
        raise ConsoleError(400, "没有这个表")
    name = f"{which}-{query.group}-{query.period.kind}-{query.period.first.isoformat()}.csv"
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/console/rates/tickets/{ref}", dependencies=[Depends(csrf_checked)])
async def supervise(request: Request, ref: str, person: Supervisor, store: StoreDep) -> Response:
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    action = values.get("action", "")
    back = values.get("back", "")
    back = back if back.startswith("/console/rates") and "//" not in back else "/console/rates"
    if action not in SUPERVISOR_ACTIONS:
        raise ConsoleError(422, "未知的操作")
    try:
        form = Form(action=action, seq=int(values.get("seq", "")),  # type: ignore[arg-type]
                    ref=values.get("ref", "")[:64] or uuid.uuid4().hex,
                    text=values.get("text", ""),
                    deadline=parse_deadline(values["deadline"], store.tz)
                    if values.get("deadline") else None)
        await run_in_threadpool(act, store, ref, form, actor_of(person), None,
                                datetime.now(UTC))
    except ActionRefused as exc:
        raise ConsoleError(422, str(exc)) from None
    except ValueError as exc:
        if isinstance(exc, StaleEvent):
            last = exc.current.history[-1]
            raise ConsoleError(409, labels.DESK_STALE.format(
                actor=last.actor, at=local_time(last.at, store.tz),
                what=worklist_view.what_happened(last))) from None
        if isinstance(exc, (IllegalTransition, KindRefused, HistoryFull)):
            raise ConsoleError(409, "此工单当前不能进行此操作") from None
        raise ConsoleError(422, "表单不完整，请刷新页面") from None
    except TicketNotFound:
        raise ConsoleError(404, labels.NOT_FOUND) from None
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={action}", 303)
