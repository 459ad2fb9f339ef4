"""The ticket and the intake every channel produces (``schema_version: 1``)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

SCHEMA_VERSION: Literal[1] = 1
# C0 control characters other than tab, LF and CR are never part of what a person wrote, and
# PostgreSQL text columns refuse NUL.
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def _printable(value: str) -> str:
    if has_controls(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


Printable = AfterValidator(_printable)


def has_controls(value: str) -> bool:
    return any(c in _CONTROL for c in value)


def without_controls(value: str) -> str:
    """What a person wrote, minus the control characters a phone or a browser slipped in
    (channels clean free text with this rather than refuse a resident's words)."""
    return "".join(c for c in value if c not in _CONTROL) if has_controls(value) else value


class Channel(StrEnum):
    voice = "voice"
    sms = "sms"
    wechat = "wechat"
    web = "web"
    api = "api"


class Kind(StrEnum):
    consultation = "consultation"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    report = "report"  # 举报
    suggestion = "suggestion"  # 建议
    unknown = "unknown"


class Status(StrEnum):
    received = "received"  # 1 采集受理
    registered = "registered"  # 2 案卷建立
    dispatched = "dispatched"  # 3 指挥派遣
    in_progress = "in_progress"  # 4 任务处理
    resolved = "resolved"  # 5 处理反馈
    closed = "closed"  # 6 核实结案
    evaluated = "evaluated"  # 7 综合评价
    merged = "merged"
    rejected = "rejected"


class Loop(StrEnum):
    small = "small"
    big = "big"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ShortText = Annotated[str, StringConstraints(max_length=200), Printable]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=200), Printable]
TEXT_LIMIT = 20_000
LongText = Annotated[str, StringConstraints(max_length=TEXT_LIMIT), Printable]
# The ticket number: YYMMDD (Asia/Shanghai) + the day's sequence, at least 4 digits wide. A
# normal day gives 10 digits; the 10,000th ticket of a day gets 11, so numbering never runs out.
# The one place its shape is spelled: everything that recognises a number uses these.
NUMBER_MIN_DIGITS, NUMBER_MAX_DIGITS = 10, 16
NUMBER_PATTERN = rf"^\d{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}}$"
_NUMBER = re.compile(NUMBER_PATTERN)
# a number inside a text ("工单号2612070001", "查询 2612070001"): not part of a longer digit run
NUMBER_IN_TEXT = re.compile(rf"(?<!\d)(\d{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}})(?!\d)")


def is_ticket_number(text: str) -> bool:
    """``text`` has the shape of a ticket number (whether one exists is the store's answer)."""
    return _NUMBER.fullmatch(text) is not None


class Citizen(_Strict):
    phone: E164 | None = Field(default=None, description="E.164, e.g. +8613800138000")
    wechat_openid: Annotated[str, StringConstraints(max_length=128), Printable] | None = None
    name: ShortText | None = None
    consent_to_contact: bool = False
    callback_requested: bool = Field(
        default=False, description="the resident asked to be called back (回访电话) for the "
        "result rather than told by text; needs a phone number and consent to contact")


class Transcript(_Strict):
    text: LongText
    confidence: float | None = Field(default=None, ge=0, le=1)
    engine: ShortText = "vosk"
    model: ShortText


class Attachment(_Strict):
    url: Annotated[str, StringConstraints(max_length=2048), Printable]
    content_type: Annotated[str, StringConstraints(max_length=100), Printable]
    sha256: Sha256 | None = None
    size: int | None = Field(default=None, ge=0)


class Location(_Strict):
    address: Annotated[str, StringConstraints(max_length=500), Printable] | None = None
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    grid: Annotated[str, StringConstraints(max_length=64), Printable] | None = None
    community: ShortText | None = None
    street: ShortText | None = None


class Satisfaction(StrEnum):
    """The resident's verdict on the result, on the scale Beijing rates its units by."""

    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意


class Evaluation(_Strict):
    """What the resident answered after the unit's reply (steps 6–7, 核实结案 + 综合评价): was
    it solved, and how satisfied are they. ``score`` is the 1–5 rating of tickets rated
    before the two questions existed, kept readable."""

    solved: bool | None = Field(default=None, description="the resident says it was solved")
    satisfaction: Satisfaction | None = None
    score: int | None = Field(default=None, ge=1, le=5,
                              description="legacy 1–5 rating (5 best) of older tickets")
    comment: Annotated[str, StringConstraints(max_length=2000), Printable] | None = None
    channel: Channel
    at: AwareDatetime


class HistoryKind(StrEnum):
    """What a history entry records, for machines (the supervision rates, notifications), when
    its status change alone does not say it. Entries of older tickets have none."""

    sent_back = "sent_back"  # 退回: a unit says the matter is not its own
    extension_requested = "extension_requested"  # 申请延期
    extension_granted = "extension_granted"
    extension_refused = "extension_refused"
    urged = "urged"  # 督办: a supervisor's reminder to the unit
    notified = "notified"  # a message sent to the resident on their channel
    notification_failed = "notification_failed"
    asked = "asked"  # a verification question put to the resident
    answered = "answered"  # the resident's answer to it
    reopened = "reopened"  # "not solved": back to the unit
    closed_unanswered = "closed_unanswered"  # closed after the resident did not answer
    callback = "callback"  # an attempt of the outbound verification call (回访)


class HistoryEntry(_Strict):
    seq: int
    at: AwareDatetime
    actor: str
    status: Status | None = Field(default=None, description="new status, when it changed")
    from_status: Status | None = None
    note: str | None = None
    event_id: str | None = None
    kind: HistoryKind | None = Field(default=None, description="what happened, when the status "
                                                               "change alone does not say it")


class Decided(_Strict):
    """How one routing field was decided, and how sure the router was."""

    source: str = Field(description="grid_qr | point | gazetteer | operator | rule | model | "
                                    "catalogue | phrase | department | repeat | escalation")
    confidence: float | None = Field(default=None, ge=0, le=1)
    detail: str | None = Field(default=None, description="what decided it: the phrase, the "
                                                         "place named, the rule")


class Destination(_Strict):
    """A desk the ticket is delivered to, and whether it acknowledged."""

    id: str = Field(description="street:<code> | district | dept:<code>")
    status: Literal["pending", "delivered", "failed"]
    at: AwareDatetime | None = None


class Routing(_Strict):
    """The router's decisions about a ticket (step 2–3 of the loop)."""

    place: Decided | None = None
    category: Decided | None = None
    kind: Decided | None = None
    loop: Decided | None = None
    priority: Decided | None = None
    needs: list[Literal["place", "category"]] = Field(
        default_factory=list, description="what a person must decide before it is dispatched")
    related: list[str] = Field(default_factory=list,
                               description="ids of open tickets about the same matter")
    respond_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None
    destinations: list[Destination] = Field(default_factory=list)


class IntakeBody(_Strict):
    """What a resident told us, whichever channel carried it."""

    citizen: Citizen = Field(default_factory=Citizen)
    kind: Kind = Kind.unknown
    text: LongText = ""
    transcript: Transcript | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    location: Location | None = None


class Intake(IntakeBody):
    """What a channel adapter hands to :meth:`tickets.store.Store.submit`."""

    channel: Channel
    channel_ref: Ref = Field(
        description="the sender's own id for this request; a repeat returns the same ticket"
    )
    received_at: AwareDatetime
    category: Annotated[str, StringConstraints(max_length=64), Printable] | None = Field(
        default=None, description="a catalogue category the sender chose (Open311's "
                                  "service_code); the router keeps it like a person's choice")


class Ticket(_Strict):
    """A case in the seven-step loop, as back-office systems see it."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str
    number: Annotated[str, StringConstraints(pattern=NUMBER_PATTERN)]
    seq: int
    channel: Channel
    channel_ref: str
    received_at: AwareDatetime
    updated_at: AwareDatetime
    citizen: Citizen
    kind: Kind
    text: str
    transcript: Transcript | None
    attachments: list[Attachment]
    location: Location | None
    category: str | None = None
    department: str | None = None
    loop: Loop | None = None
    priority: int = Field(default=3, ge=1, le=5, description="1 most urgent")
    status: Status
    history: list[HistoryEntry]
    evaluation: Evaluation | None = None
    merged_into: str | None = None
    reject_reason: str | None = None
    routing: Routing | None = None
    reopened: int = Field(default=0, ge=0, description="times the resident said it was not "
                                                       "solved and it went back to the unit")
