"""Status by text on SMS and WeChat: "查询 2612070001" (or the number alone) answers with the
ticket's status, its step of the loop and the last note a unit wrote — what key 9 of 96010 and
``GET /status`` say. What the resident wrote is added only for the ticket's own sender as the
channel proved it (the SMS number or the caller id, the WeChat openid). Pure but for the
store read in :func:`reply_to`."""

from __future__ import annotations

import re

from channels.texts import texts
from tickets.answers import normalize
from tickets.model import NUMBER_MAX_DIGITS, NUMBER_MIN_DIGITS, Channel, Status, Ticket
from tickets.store import Store, TicketNotFound

_QUERY = re.compile(
    rf"^(?:(?:查询进度|查进度|查询|进度|查):?\s*)?(\d{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}})$")
STEPS: dict[Status, str] = {
    Status.received: "第1步 采集受理", Status.registered: "第2步 案卷建立",
    Status.dispatched: "第3步 指挥派遣", Status.in_progress: "第4步 任务处理",
    Status.resolved: "第5步 处理反馈", Status.closed: "第6步 核实结案",
    Status.evaluated: "第7步 综合评价", Status.merged: "合并办理", Status.rejected: "不予受理",
}
UNITS = ("street:", "dept:", "district", "unit:", "community:")
MAX_NOTE, MAX_TEXT = 200, 100


def queried_number(text: str) -> str | None:
    """The ticket number a status query asks about (None: not a status query)."""
    found = _QUERY.fullmatch(normalize(text))
    return found.group(1) if found else None


def owner_key(ticket: Ticket) -> str | None:
    """The proven sender of ``ticket`` (the key :func:`tickets.store.citizen_key` gave it)."""
    citizen = ticket.citizen
    if ticket.channel in (Channel.sms, Channel.voice) and citizen.phone:
        return f"phone:{citizen.phone}"
    if ticket.channel is Channel.wechat and citizen.wechat_openid:
        return f"wechat:{citizen.wechat_openid}"
    return None


def last_public_note(ticket: Ticket) -> str | None:
    """The last note a unit wrote with a step of the loop (its reply, a reason)."""
    if ticket.status is Status.rejected and ticket.reject_reason:
        return ticket.reject_reason
    for entry in reversed(ticket.history):
        if entry.note and entry.status is not None and entry.actor.startswith(UNITS):
            return entry.note
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def status_text(ticket: Ticket, asker: str | None, survivor: Ticket | None = None) -> str:
    t = texts()
    parts = [t.lookup.status.format(number=ticket.number, status=t.status(ticket.status),
                                    step=STEPS[ticket.status])]
    note = last_public_note(ticket)
    if note:
        parts.append(t.lookup.note.format(note=_clip(note, MAX_NOTE)))
    if survivor is not None and survivor.id != ticket.id:
        parts.append(t.wechat.progress_merged.format(number=survivor.number,
                                                     status=t.status(survivor.status)))
    if asker is not None and asker == owner_key(ticket) and ticket.text:
        parts.append(t.lookup.own.format(text=_clip(ticket.text, MAX_TEXT)))
    return "\n".join(parts)


def reply_to(store: Store, text: str, asker: str | None) -> str | None:
    """The answer to a status query from ``asker`` (their proven key); None: not a query."""
    number = queried_number(text)
    if number is None:
        return None
    try:
        ticket = store.get(number)
    except TicketNotFound:
        return texts().lookup.not_found.format(number=number)
    return status_text(ticket, asker, store.survivor_of(ticket))
