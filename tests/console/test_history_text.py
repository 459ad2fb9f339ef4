"""The history as operators read it: actors and the router's notes in Chinese, known answers;
a note of no known shape is kept as it is."""

from __future__ import annotations

import pytest

from console.history_text import actor, note

NAMES = {"DS": "东四街道", "dept.water": "北京市自来水集团", "DC-DS-0101": "东四三条第一网格",
         "municipal.manhole": "井盖缺失、破损", "property.service": "物业服务"}


def name(code: str) -> str:
    return NAMES.get(code, code)


@pytest.mark.parametrize(("raw", "shown"), [
    ("router", "自动分派"),
    ("router:escalation", "超期升级"),
    ("channel:sms", "短信渠道"),
    ("channel:web", "网页渠道"),
    ("gateway:wechat", "系统（微信）"),
    ("resident:voice", "居民（电话）"),
    ("operator:alice", "话务员 alice"),
    ("supervisor:boss", "班长 boss"),
    ("street:DS", "东四街道"),
    ("street:DS/wang", "东四街道（wang）"),
    ("dept:dept.water", "北京市自来水集团"),
    ("grid:DC-DS-0101/li", "东四三条第一网格（li）"),
    ("check", "系统核查"),
    ("erp-7", "erp-7"),
])
def test_actors(raw: str, shown: str) -> None:
    assert actor(raw, name) == shown


@pytest.mark.parametrize(("raw", "shown"), [
    ("place: DC-DS-0101 (grid_qr); category: 井盖 (rule); loop: municipal.manhole (catalogue); "
     "to street:DS",
     "地点：东四三条第一网格（网格二维码）；类别：井盖（规则）；循环：井盖缺失、破损（目录默认）；派往东四街道"),
    ("category: model v1 (92ef28f4) (model 0.47); loop: property.service (catalogue); "
     "waits for a person: needs place",
     "类别：model v1 (92ef28f4)（模型 0.47）；循环：物业服务（目录默认）；待人工确定：地点"),
    ("kind: 建议 (phrase); loop: small (catalogue); to district, dept:dept.water",
     "诉求类型：建议（关键词）；循环：小循环（街道）（目录默认）；派往区中心、北京市自来水集团"),
    ("delivered to street:DS by feed", "已送达东四街道（feed）"),
    ("every destination acknowledged: district, dept:dept.water",
     "各承办单位均已签收：区中心、北京市自来水集团"),
    ("escalated to the big loop: overdue; to district", "升级为大循环：overdue；派往区中心"),
    ("网格员已到现场", "网格员已到现场"),
    ("something new", "something new"),
])
def test_notes(raw: str, shown: str) -> None:
    assert note(raw, name) == shown


@pytest.mark.parametrize(("raw", "shown"), [
    ("callback attempt 1 of 3: answered", "第1次回访外呼（共3次）：已接听"),
    ("callback attempt 1 of 3: busy (reason 5); next attempt at 2026-12-08 02:00 UTC",
     "第1次回访外呼（共3次）：占线（reason 5）；下次呼叫 2026-12-08 02:00（UTC）"),
    ("callback attempt 2 of 3: Asterisk (AMI) unreachable (cannot connect to 127.0.0.1:5038); "
     "next attempt at 2026-12-08 04:00 UTC",
     "第2次回访外呼（共3次）：无法连接交换机（AMI）（cannot connect to 127.0.0.1:5038）；"
     "下次呼叫 2026-12-08 04:00（UTC）"),
    ("callback attempt 3 of 3: no answer (reason 3); no more attempts (a landline: no SMS)",
     "第3次回访外呼（共3次）：无人接听（reason 3）；不再呼叫（固定电话，无法发短信）"),
    ("callback attempt 3 of 3: no answer (reason 3); no more attempts, the question goes to the "
     "resident by SMS (once per round: not again when it went already)",
     "第3次回访外呼（共3次）：无人接听（reason 3）；不再呼叫，改发短信提问（每轮最多一次）"),
    ("callback attempt 1 waits for the end of quiet hours (2026-12-08 00:00 UTC)",
     "第1次回访外呼在免打扰时段，推迟到 2026-12-08 00:00（UTC）"),
    ("callback attempt 2 queued by hand", "第2次回访外呼（人工安排）"),
    ("callback call: no valid key to the solved question (asked twice); hung up",
     "回访外呼：“是否解决”两次未收到有效按键，已挂机"),
    ("asked by the callback call: satisfaction", "回访外呼提问：是否满意"),
    ("the resident hung up during the callback call", "回访通话中居民挂机"),
    ("callback attempt x of 3: answered", "callback attempt x of 3: answered"),
])
def test_callback_notes(raw: str, shown: str) -> None:
    assert note(raw, name) == shown
