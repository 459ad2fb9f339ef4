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
