"""The main menu: which key does what (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tickets.model import Kind


class Action(Enum):
    record = "record"  # 1–5: describe the matter
    status = "status"  # 9: progress by ticket number
    operator = "operator"  # 0: a person


@dataclass(frozen=True)
class Choice:
    action: Action
    kind: Kind = Kind.unknown


MENU: dict[str, Choice] = {
    "1": Choice(Action.record, Kind.consultation),  # 咨询
    "2": Choice(Action.record, Kind.help),  # 求助
    "3": Choice(Action.record, Kind.complaint),  # 投诉
    "4": Choice(Action.record, Kind.report),  # 举报
    "5": Choice(Action.record, Kind.suggestion),  # 建议
    "9": Choice(Action.status),  # 查询办理进度
    "0": Choice(Action.operator),  # 人工服务
}
ESCAPE_DIGITS = "0123456789*#"  # any key interrupts a menu prompt; wrong keys are told so
OPERATOR = Choice(Action.operator)


def choose(digit: str) -> Choice | None:
    return MENU.get(digit)
