"""What a channel received that is no message — a WeChat event (a menu click, a LOCATION), an
answer given on the web status page — in the form the spool keeps it when the store did not
answer before the channel's deadline (``inbound=`` in a sidecar,
:func:`tickets.spoolfiles.write_inbound_entry`). The ingester hands it back to the handler the
live path runs (:func:`channels.spooled.file_inbound`).

Each names its idempotency key: a WeChat event WeChat's own (FromUserName + CreateTime, as
WeChat documents for deduplicating event pushes), a web answer its form's one-time id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from channels.wechat.parse import Inbound as WechatInbound
from channels.wechat.parse import event_ref, parse
from channels.wechat.xmlsafe import BadXml, parse_fields
from tickets.answers import Answer, Question


class WechatEvent(BaseModel):
    """A WeChat event push, as its plaintext XML (opened from the safe-mode envelope and
    signature-checked before it was kept); ``at``: when it came."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["wechat-event"] = "wechat-event"
    xml: str = Field(max_length=64_000)
    at: datetime

    @field_validator("xml")
    @classmethod
    def _a_push(cls, xml: str) -> str:
        parse_event(xml)  # a kept push that no longer parses is malformed
        return xml

    @property
    def key(self) -> str:
        """The event's idempotency key: ``wechat:`` and WeChat's dedup key (FromUserName +
        CreateTime, hashed: :func:`~channels.wechat.parse.event_ref`)."""
        return event_key(parse_fields(self.xml.encode()))

    def event(self) -> WechatInbound:
        return parse_event(self.xml)


def event_key(fields: dict[str, str]) -> str:
    """The key of an event push's fields (its reply is planned once under it)."""
    return "wechat:" + event_ref(fields.get("FromUserName", ""), fields.get("CreateTime", ""),
                                 "event")


def parse_event(xml: str) -> WechatInbound:
    try:
        return parse(xml.encode(), parse_fields(xml.encode()))
    except BadXml as exc:
        raise ValueError(f"not a WeChat push: {exc}") from None


class WebAnswer(BaseModel):
    """An answer given with the status page's buttons (its link's MAC checked, its CSRF token
    too); ``key`` is the answer's idempotency key (``web:<the form's one-time id>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["web-answer"] = "web-answer"
    ticket_id: str = Field(min_length=1, max_length=64)
    question: Question
    choice: int
    words: str = Field(default="", max_length=500)
    key: str = Field(min_length=1, max_length=200)
    at: datetime

    @model_validator(mode="after")
    def _an_answer(self) -> WebAnswer:
        if Answer.of_choice(self.question, self.choice) is None:
            raise ValueError(f"'{self.choice}' is not an answer to '{self.question.value}'")
        return self

    @property
    def answer(self) -> Answer:
        given = Answer.of_choice(self.question, self.choice)
        assert given is not None  # checked when it was made
        return given


Inbound = Annotated[WechatEvent | WebAnswer, Field(discriminator="type")]
INBOUND: TypeAdapter[WechatEvent | WebAnswer] = TypeAdapter(Inbound)


def load(raw: str) -> WechatEvent | WebAnswer:
    """The kept inbound (pydantic's ValidationError when it is malformed)."""
    return INBOUND.validate_json(raw)
