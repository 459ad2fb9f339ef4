"""How the seven-step loop's statuses read in Open311 (documented in README "Open311 and
metrics"), both ways.

GeoReport v2 knows ``open`` and ``closed``: steps 1–5 (received … resolved, the resident not
yet asked) are ``open``; closed, evaluated, rejected and merged are ``closed``; ``status_notes``
says which step in Chinese. FixMyStreet's request updates carry its extended states
(``IN_PROGRESS``, ``FIXED``, ``DUPLICATE``, ``NOT_COUNCILS_RESPONSIBILITY`` …); a department
reporting progress (POST) is mapped onto the same status machine as the events API.
"""

from __future__ import annotations

from enum import StrEnum

from tickets.model import Status

S = Status


class OpenClosed(StrEnum):
    open = "open"
    closed = "closed"


OPEN_STATUSES = frozenset({S.received, S.registered, S.dispatched, S.in_progress, S.resolved})
CLOSED_STATUSES = frozenset(Status) - OPEN_STATUSES

NOTES: dict[Status, str] = {
    S.received: "已受理，等待建档",
    S.registered: "已建档，等待派遣",
    S.dispatched: "已派遣至责任单位",
    S.in_progress: "责任单位正在处理",
    S.resolved: "责任单位已答复，等待市民核实",
    S.closed: "已结案",
    S.evaluated: "已结案，市民已评价",
    S.merged: "与其他诉求合并办理",
    S.rejected: "不属于政府职责范围，未受理",
}

# GET servicerequestupdates: the FixMyStreet state each status of the loop shows as
UPDATE_STATES: dict[Status, str] = {
    S.received: "OPEN",
    S.registered: "OPEN",
    S.dispatched: "OPEN",
    S.in_progress: "IN_PROGRESS",
    S.resolved: "FIXED",
    S.closed: "CLOSED",
    S.evaluated: "CLOSED",
    S.merged: "DUPLICATE",
    S.rejected: "NOT_COUNCILS_RESPONSIBILITY",
}

# POST servicerequestupdates: the status a unit's state asks for (None: a note only). CLOSED
# from a unit is its reply (resolved): closing is the resident's verification (step 6).
FROM_UNIT: dict[str, Status | None] = {
    "OPEN": None,
    "INVESTIGATING": S.in_progress,
    "ACTION_SCHEDULED": S.in_progress,
    "IN_PROGRESS": S.in_progress,
    "FIXED": S.resolved,
    "CLOSED": S.resolved,
    # the matter is not the unit's: handed back to the center for dispatch again
    "NOT_COUNCILS_RESPONSIBILITY": S.registered,
    "INTERNAL_REFERRAL": S.registered,
}


def open_closed(status: Status) -> OpenClosed:
    return OpenClosed.open if status in OPEN_STATUSES else OpenClosed.closed


def statuses_of(wanted: frozenset[OpenClosed]) -> frozenset[Status]:
    """The loop's statuses an Open311 ``status=open,closed`` filter means."""
    found: set[Status] = set()
    if OpenClosed.open in wanted:
        found |= OPEN_STATUSES
    if OpenClosed.closed in wanted:
        found |= CLOSED_STATUSES
    return frozenset(found)
