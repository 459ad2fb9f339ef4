"""A ticket's history as operators read it (zh-CN): who acted — the router, a channel, a
street, a department, a colleague — and the router's and the gateway's notes, which the
ticket keeps in English (the feed's contract), put into Chinese. A note of no known shape is
shown as it is."""

from __future__ import annotations

import re
from collections.abc import Callable

from console import labels
from tickets.model import Channel

Name = Callable[[str], str]  # a code (DS, dept.water, DC-DS-0101, a category) → its name

SYSTEM = {"router": "自动分派", "router:escalation": "超期升级", "check": "系统核查",
          "ivr:spool": "电话补录", "gateway:callback": "回访外呼"}
ROLES = {"operator": "话务员", "supervisor": "班长", "street": "街道", "dept": "部门",
         "grid": "网格员", "department": "部门"}
SOURCES = {**labels.SOURCES, "none": "无"}


def _channel(value: str) -> str:
    try:
        return labels.CHANNELS[Channel(value)]
    except ValueError:
        return value


def unit_name(unit: str, name: Name) -> str:
    """``street:DS`` → 东四街道, ``dept:dept.water`` → the department, ``district`` → 区中心."""
    if unit == "district":
        return "区中心"
    kind, _, code = unit.partition(":")
    if kind in ("street", "dept", "grid") and code:
        return name(code)
    return unit


def actor(text: str, name: Name) -> str:
    if text in SYSTEM:
        return SYSTEM[text]
    head, _, rest = text.partition(":")
    if head == "channel":
        return f"{_channel(rest)}渠道"
    if head == "gateway":
        return f"系统（{_channel(rest)}）"
    if head == "resident":
        return f"居民（{_channel(rest)}）"
    if head in ("operator", "supervisor") and rest:
        return f"{ROLES[head]} {rest}"
    unit, _, login = text.partition("/")
    if unit.partition(":")[0] in ("street", "dept", "grid"):
        who = unit_name(unit, name)
        return f"{who}（{login}）" if login else who
    return text


def _units(text: str, name: Name) -> str:
    return "、".join(unit_name(u.strip(), name) for u in text.split(",") if u.strip())


def _part(part: str, name: Name) -> str:
    """One ``; ``-separated piece of the router's note."""
    match = re.fullmatch(r"(place|category|kind|loop): (.+) \((\w+)( [\d.]+)?\)", part)
    if match:
        what, value, source, confidence = match.groups()
        field = {"place": "地点", "category": "类别", "kind": "诉求类型", "loop": "循环"}[what]
        if what == "kind":
            value = {k.value: v for k, v in labels.KINDS.items()}.get(value, value)
        elif what == "loop":
            value = labels.LOOPS.get(value, name(value))
        else:
            value = name(value)
        how = SOURCES.get(source, source) + (confidence or "")
        return f"{field}：{value}（{how}）"
    if part.startswith("to "):
        return f"派往{_units(part[3:], name)}"
    match = re.fullmatch(r"waits for a person: needs (.+)", part)
    if match:
        needs = [labels.NEEDS.get(n.strip(), n.strip()) for n in match.group(1).split(",")]
        return f"待人工确定：{'、'.join(needs)}"
    return part


_CALLBACK_SAID = {"answered": "已接听", "no answer": "无人接听", "busy": "占线",
                  "the call failed": "呼叫失败",
                  "Asterisk (AMI) unreachable": "无法连接交换机（AMI）"}
_CALLBACK_END = {
    "; no more attempts (a landline: no SMS)": "；不再呼叫（固定电话，无法发短信）",
    "; no more attempts (SMS fallback not available)": "；不再呼叫（短信不可用）",
    "; no more attempts, the question goes to the resident by SMS (once per round: not again "
    "when it went already)": "；不再呼叫，改发短信提问（每轮最多一次）",
}
_QUESTIONS = {"solved": "是否解决", "satisfaction": "是否满意"}
_CALLBACK_FIXED = {
    "the resident hung up during the callback call": "回访通话中居民挂机",
    "callback call: no phone number to call": "回访外呼：没有可拨打的电话号码",
}


def callback_note(text: str) -> str | None:
    """A note of the callback call (ivr.callback, ivr.callback_job) in Chinese; None when
    ``text`` is none of them."""
    if text in _CALLBACK_FIXED:
        return _CALLBACK_FIXED[text]
    match = re.fullmatch(r"callback attempt (\d+) of (\d+): (answered|no answer|busy|the call "
                         r"failed|Asterisk \(AMI\) unreachable)( \((.*?)\))?"
                         r"(; next attempt at (\S+ \S+) UTC|;.*)?", text)
    if match:
        shown = f"第{match.group(1)}次回访外呼（共{match.group(2)}次）：" \
                f"{_CALLBACK_SAID[match.group(3)]}"
        if match.group(5):
            shown += f"（{match.group(5)}）"
        end = match.group(6) or ""
        if match.group(7):
            shown += f"；下次呼叫 {match.group(7)}（UTC）"
        elif end:
            shown += _CALLBACK_END.get(end, end)
        return shown
    match = re.fullmatch(r"callback attempt (\d+) waits for the end of quiet hours "
                         r"\((\S+ \S+) UTC\)", text)
    if match:
        return f"第{match.group(1)}次回访外呼在免打扰时段，推迟到 {match.group(2)}（UTC）"
    match = re.fullmatch(r"callback attempt (\d+) queued by hand", text)
    if match:
        return f"第{match.group(1)}次回访外呼（人工安排）"
    match = re.fullmatch(r"callback call: no valid key to the (solved|satisfaction) question "
                         r"\(asked twice\); hung up", text)
    if match:
        return f"回访外呼：“{_QUESTIONS[match.group(1)]}”两次未收到有效按键，已挂机"
    match = re.fullmatch(r"asked by the callback call: (solved|satisfaction)", text)
    if match:
        return f"回访外呼提问：{_QUESTIONS[match.group(1)]}"
    return None


def note(text: str, name: Name) -> str:
    called = callback_note(text)
    if called is not None:
        return called
    match = re.fullmatch(r"delivered to (\S+) by (\S+)", text)
    if match:
        return f"已送达{unit_name(match.group(1), name)}（{match.group(2)}）"
    match = re.fullmatch(r"every destination acknowledged: (.+)", text)
    if match:
        return f"各承办单位均已签收：{_units(match.group(1), name)}"
    match = re.fullmatch(r"escalated to the big loop: (.+?); to (.+)", text)
    if match:
        return f"升级为大循环：{match.group(1)}；派往{_units(match.group(2), name)}"
    if re.match(r"(place|category|kind|loop): |to |waits for a person", text):
        return "；".join(_part(p, name) for p in text.split("; "))
    return text
