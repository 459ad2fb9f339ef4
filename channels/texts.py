"""The one catalogue of resident-facing texts of the text channels (``channels/texts.yaml``).

Loaded and checked once: every entry must be present, non-empty, and use exactly the
placeholders its slot allows (a reviewer who breaks a ``{number}`` hears about it from
``hotline check-config``, not from a resident). Pure: no I/O after the load.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tickets.model import Kind, Status

FILE = Path(__file__).with_name("texts.yaml")

# slot → the placeholders it must use (and the only ones it may use)
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"number"}),
    "follow_up": frozenset({"number"}),
    "evaluated": frozenset({"number", "score"}),
    "kind_prompt": frozenset({"kind"}),
    "progress": frozenset({"number", "status"}),
    "progress_rejected": frozenset({"reason"}),
    "progress_merged": frozenset({"number", "status"}),
}
WECHAT_PLACEHOLDERS = {**PLACEHOLDERS, "acknowledged": frozenset({"kind", "number"})}
_NUMBER = frozenset({"number"})
NOTIFY_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "resolved": frozenset({"number", "reply"}), "ask_solved": _NUMBER,
    "ask_satisfaction": _NUMBER, "rejected": frozenset({"number", "reason"}),
    "merged": frozenset({"number", "survivor"}), "dispatched": _NUMBER, "received": _NUMBER,
    "web_link": frozenset({"url"}),
}
LOOKUP_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "status": frozenset({"number", "status", "step"}), "note": frozenset({"note"}),
    "own": frozenset({"text"}), "not_found": _NUMBER,
}
VERIFY_PLACEHOLDERS: dict[str, frozenset[str]] = {
    name: _NUMBER for name in ("solved", "evaluated", "reopened", "big_loop", "repeat",
                               "reopened_meanwhile", "finished", "too_late")
}


class TextsError(ValueError):
    """The texts file is missing an entry or misuses a placeholder."""


def placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def check_placeholders(entries: dict[str, Any], allowed: dict[str, frozenset[str]]) -> None:
    """Each entry is a non-empty text using exactly the placeholders of its slot."""
    for name, template in entries.items():
        if not isinstance(template, str) or not template.strip():
            raise ValueError(f"'{name}' is empty")
        used = placeholders(template)
        wanted = allowed.get(name, frozenset())
        if used != wanted:
            shown = ", ".join(f"{{{p}}}" for p in sorted(wanted)) or "no placeholder"
            raise ValueError(f"'{name}' must use {shown}, not "
                             f"{', '.join(sorted(used)) or 'none'}")


class _Slots(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmsTexts(_Slots):
    acknowledged: str
    follow_up: str
    evaluated: str
    empty: str
    rate_limited: str


class WechatTexts(_Slots):
    acknowledged: str
    follow_up: str
    evaluated: str
    welcome: str
    event_delayed: str
    no_ticket: str
    menu_unknown: str
    kind_prompt: str
    progress: str
    progress_rate: str
    progress_rejected: str
    progress_merged: str
    rate_limited: str


class WebTexts(_Slots):
    rate_limited: str


class NotifyTexts(_Slots):
    resolved: str
    ask_solved: str
    ask_satisfaction: str
    rejected: str
    merged: str
    dispatched: str
    received: str
    web_link: str
    footer: str
    opted_out: str


class LookupTexts(_Slots):
    status: str
    note: str
    own: str
    not_found: str


class VerifyTexts(_Slots):
    solved: str
    evaluated: str
    reopened: str
    big_loop: str
    repeat: str
    reopened_meanwhile: str
    finished: str
    too_late: str
    unknown_ticket: str


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[Kind, str]
    statuses: dict[Status, str]
    sms: SmsTexts
    wechat: WechatTexts
    web: WebTexts
    notify: NotifyTexts
    verify: VerifyTexts
    lookup: LookupTexts

    @field_validator("kinds")
    @classmethod
    def _every_kind(cls, value: dict[Kind, str]) -> dict[Kind, str]:
        missing = [k.value for k in Kind if not value.get(k)]
        if missing:
            raise ValueError(f"missing labels for {', '.join(missing)}")
        return value

    @field_validator("statuses")
    @classmethod
    def _every_status(cls, value: dict[Status, str]) -> dict[Status, str]:
        missing = [s.value for s in Status if not value.get(s)]
        if missing:
            raise ValueError(f"missing labels for {', '.join(missing)}")
        return value

    def kind(self, kind: Kind) -> str:
        return self.kinds[kind]

    def status(self, status: Status) -> str:
        return self.statuses[status]


def parse(data: object, source: str = str(FILE)) -> Texts:
    """Validate the loaded YAML; :class:`TextsError` names the entry that is wrong."""
    if not isinstance(data, dict):
        raise TextsError(f"{source}: expected a mapping of sections")
    try:
        for section, allowed in (("sms", PLACEHOLDERS), ("wechat", WECHAT_PLACEHOLDERS),
                                 ("web", PLACEHOLDERS), ("notify", NOTIFY_PLACEHOLDERS),
                                 ("verify", VERIFY_PLACEHOLDERS),
                                 ("lookup", LOOKUP_PLACEHOLDERS)):
            entries = data.get(section)
            if isinstance(entries, dict):
                try:
                    check_placeholders(entries, allowed)
                except ValueError as exc:
                    raise TextsError(f"{source}: {section}: {exc}") from None
        return Texts.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TextsError(f"{source}: {where}: {first['msg']}") from None


def load(path: Path = FILE) -> Texts:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TextsError(f"{path}: not valid YAML: {exc}") from None
    return parse(data, str(path))


@cache
def texts() -> Texts:
    """The catalogue shipped with the gateway (loaded once per process)."""
    return load()
