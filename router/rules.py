"""Routing rules (``router/config/routing.yaml``): phrases that raise priority, phrases that
move a ticket to the big loop, the router's confidence thresholds, repeats and duplicates, and
phrases that tell the kind of a request when the resident did not choose one."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tickets.model import Kind

Phrase = Annotated[str, StringConstraints(min_length=2)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Urgency(_Frozen):
    priority: int = Field(ge=1, le=5)
    phrases: list[Phrase] = Field(min_length=1)


class BigLoop(_Frozen):
    media: list[Phrase]
    leader: list[Phrase]
    cross_street: list[Phrase]


class Thresholds(_Frozen):
    category: float = Field(gt=0, le=1)
    place: float = Field(gt=0, le=1)


class Repeat(_Frozen):
    count: int = Field(ge=2)
    days: int = Field(ge=1)


class Duplicates(_Frozen):
    hours: float = Field(gt=0)
    radius_m: float = Field(gt=0)
    related: float = Field(gt=0, le=1)
    merge: float = Field(gt=0, le=1)


class RoutingRules(_Frozen):
    urgency: list[Urgency]
    big_loop: BigLoop
    thresholds: Thresholds
    repeat: Repeat
    duplicates: Duplicates
    kinds: dict[Kind, list[Phrase]]

    def priority_of(self, text: str) -> tuple[int, str] | None:
        """The most urgent priority whose phrase occurs in ``text``, and that phrase."""
        fired = [(u.priority, p) for u in self.urgency for p in u.phrases if p in text]
        return min(fired) if fired else None

    def big_loop_reason(self, text: str) -> tuple[str, str] | None:
        """("media" | "leader" | "cross_street", the phrase) when one occurs in ``text``."""
        for reason in ("media", "leader", "cross_street"):
            phrase = next((p for p in getattr(self.big_loop, reason) if p in text), None)
            if phrase is not None:
                return reason, phrase
        return None

    def kind_of(self, text: str) -> tuple[Kind, str] | None:
        for kind, phrases in self.kinds.items():
            phrase = next((p for p in phrases if p in text), None)
            if phrase is not None:
                return kind, phrase
        return None
