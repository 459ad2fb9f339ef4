"""Twilio's delivery reports (status callbacks) for the SMS the gateway sent residents.

Each outbound message asks Twilio to report to ``<HOTLINE_PUBLIC_URL>/channels/twilio/status?n=
<notification id>`` (:mod:`channels.twilio_sms.notify`); the report is signed like the
incoming-message webhook and checked the same way (the route). :func:`apply_report` records
it: any report settles a notification whose send outcome was unknown (the message did leave:
it is never sent again); ``delivered`` and ``undelivered``/``failed`` (with Twilio's
``ErrorCode``) become a history entry of the ticket (``notified`` / ``notification_failed``),
once per message and status. Reports of other statuses (queued, sending, sent) change nothing
else. Synchronous: the route runs it in a thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tickets import notifications as nt
from tickets.model import HistoryEntry, HistoryKind, Ticket
from tickets.store import Store

PATH = "/channels/twilio/status"
FINAL = {"delivered": HistoryKind.notified, "undelivered": HistoryKind.notification_failed,
         "failed": HistoryKind.notification_failed}
_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_ID = re.compile(r"^\d{1,18}$")


class BadReport(ValueError):
    pass


@dataclass(frozen=True)
class Report:
    notification_id: int | None
    sid: str
    status: str
    error_code: str | None


def parse(query_n: str | None, form: Mapping[str, str]) -> Report:
    """The report in ``form`` (``MessageSid``, ``MessageStatus``, ``ErrorCode``) for the
    notification named in the query; :class:`BadReport` for a malformed one."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not _SID.fullmatch(sid):
        raise BadReport("MessageSid is missing or malformed")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not status or len(status) > 20 or not status.isalpha():
        raise BadReport("MessageStatus is missing or malformed")
    if query_n is not None and not _ID.fullmatch(query_n):
        raise BadReport("'n' must be a notification id")
    code = (form.get("ErrorCode") or "").strip()
    if code and not code.isdigit():
        raise BadReport("ErrorCode must be digits")
    return Report(int(query_n) if query_n else None, sid, status, code[:10] or None)


def apply_report(store: Store, report: Report, at: datetime) -> str:
    """Record ``report``; what happened (for the log)."""
    note = nt.get(store.db, report.notification_id) if report.notification_id else None
    if note is None:
        note = nt.by_provider_ref(store.db, report.sid)
    if note is None:
        return "no such notification"
    if note.provider_ref not in (None, report.sid):
        return "another message of this notification"
    if note.status in (nt.UNKNOWN, nt.SENDING, nt.PENDING):
        nt.settle(store.db, note.id, nt.SENT, at=at, provider_ref=report.sid)
    kind = FINAL.get(report.status)
    if kind is None or note.ticket_id == nt.NO_TICKET:  # a reply about no ticket: no history
        return f"noted {report.status}"
    key = f"sms-status:{report.sid}:{report.status}"
    text = f"sms message '{note.step.value}' {report.status} ({report.sid})"
    if report.error_code:
        text += f", Twilio error {report.error_code}"

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(h.event_id == key for h in ticket.history):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor="gateway:sms", kind=kind, note=text,
                             event_id=key)
        return ticket.model_copy(update={"history": [*ticket.history, entry]})

    store.change(note.ticket_id, mutate)
    return f"recorded {report.status}"
