"""The ticket and the intake every channel produces (``schema_version: 1``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Literal[1] = 1


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
ShortText = Annotated[str, StringConstraints(max_length=200)]


class Citizen(_Strict):
    phone: E164 | None = Field(default=None, description="E.164, e.g. +8613800138000")
    wechat_openid: Annotated[str, StringConstraints(max_length=128)] | None = None
    name: ShortText | None = None
    consent_to_contact: bool = False


class Transcript(_Strict):
    text: str
    confidence: float | None = Field(default=None, ge=0, le=1)
    engine: str = "vosk"
    model: str


class Attachment(_Strict):
    url: Annotated[str, StringConstraints(max_length=2048)]
    content_type: Annotated[str, StringConstraints(max_length=100)]
    sha256: Sha256 | None = None
    size: int | None = Field(default=None, ge=0)


class Location(_Strict):
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    grid: Annotated[str, StringConstraints(max_length=64)] | None = None
    community: ShortText | None = None
    street: ShortText | None = None


class Evaluation(_Strict):
    score: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    channel: Channel
    at: AwareDatetime


class HistoryEntry(_Strict):
    seq: int
    at: AwareDatetime
    actor: str
    status: Status | None = Field(default=None, description="new status, when it changed")
    from_status: Status | None = None
    note: str | None = None
    event_id: str | None = None


TEXT_LIMIT = 20_000


class Intake(_Strict):
    """What a channel adapter hands to :func:`router.submit.submit`."""

    channel: Channel
    channel_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    received_at: AwareDatetime
    citizen: Citizen = Field(default_factory=Citizen)
    kind: Kind = Kind.unknown
    text: Annotated[str, StringConstraints(max_length=TEXT_LIMIT)] = ""
    transcript: Transcript | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    location: Location | None = None


class Ticket(_Strict):
    """A case in the seven-step loop, as back-office systems see it."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str
    number: Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
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

