"""Pages: navigation per role, versioned static URLs, autoescaping, the softphone's settings
as JSON data."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import FastAPI
from starlette.requests import Request

from console.config import ConsoleConfig
from console.people import Person, Role
from console.templating import STATIC, _env, nav_for, page_context, softphone_settings, static_url


def person(role: Role = Role.operator, kind: str = "webrtc") -> Person:
    return Person(id=1, login="alice", display_name="张三", role=role, active=True,
                  sip_user="op-alice", sip_ha1="5" * 32, phone_kind=kind)  # type: ignore[arg-type]


def test_navigation() -> None:
    assert nav_for(None, "/console/") == []
    items = nav_for(person(), "/console/inbox")
    assert [(i.label, i.href, i.current) for i in items] == [
        ("看板", "/console/", False), ("收件箱", "/console/inbox", True),
        ("新建工单", "/console/tickets/new", False)]
    boss = nav_for(person(Role.supervisor), "/console/")
    assert [i.label for i in boss] == ["看板", "收件箱", "新建工单", "班长", "三率督办"]
    assert [i.current for i in boss] == [True, False, False, False, False]
    assert [i.current for i in nav_for(person(), "/console/inbox/123")][1]
    desk = nav_for(person(Role.street), "/console/desk")
    assert [(i.label, i.current) for i in desk] == [("本单位工单", True)]
    assert [i.label for i in nav_for(person(Role.grid), "/console/grid")] == ["网格"]


def test_static_urls_carry_a_content_hash() -> None:
    url = static_url("console.css")
    assert url.startswith("/console/static/console.css?v=") and len(url.split("=")[1]) == 12
    assert static_url("softphone.js") != static_url("console.css")
    assert static_url("missing.js") == "/console/static/missing.js"
    assert (STATIC / "console.css").is_file()


def test_templates_escape_by_default() -> None:
    html = _env.from_string("<p>{{ text }}</p>").render(text="<script>alert(1)</script>")
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_softphone_settings_are_json_data() -> None:
    app = FastAPI()
    app.state.console = type("C", (), {"config": ConsoleConfig(
        secret="x" * 32, sip_ws="wss://console.example/ws", idle=timedelta(minutes=5))})()
    request = Request({"type": "http", "app": app, "path": "/console/", "headers": [],
                       "query_string": b"", "method": "GET"})
    settings = softphone_settings(request, person())
    # the endpoint's digest and its realm: the page holds no password
    assert settings == {"server": "wss://console.example/ws", "user": "op-alice",
                        "ha1": "5" * 32, "realm": "hotline-96010",
                        "domain": "hotline-96010.invalid",
                        "displayName": "张三",
                        "audioElement": "softphone-audio", "autoAnswer": False,
                        "iceServers": []}
    assert softphone_settings(request, person(kind="deskphone")) is None
    assert softphone_settings(request, None) is None
    rendered = _env.from_string("{{ s|tojson }}").render(s={"displayName": "</script><b>"})
    assert "</script>" not in rendered and json.loads(rendered) == {"displayName": "</script><b>"}


def test_the_context_without_a_session() -> None:
    app = FastAPI()
    request = Request({"type": "http", "app": app, "path": "/console/login", "headers": [],
                       "query_string": b"", "method": "GET"})
    context = page_context(request)
    assert context["person"] is None and context["csrf"] == "" and context["nav"] == []
    assert context["softphone"] is None
