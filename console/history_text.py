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


def note(text: str, name: Name) -> str:
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
