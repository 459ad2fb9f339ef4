"""``GET /console/softphone.json``: the page's softphone settings carry the configured SIP
domain; without a softphone the answer says why, in Chinese, naming the setting to set (the
board shows that text instead of silently hiding the softphone)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from console.people import People, Role
from tests.console.conftest import PASSWORD
from tests.console.web import gateway, log_in
from tickets.store import Store


def _client(tmp_path: Path, store: Store, **settings: object) -> TestClient:
    return TestClient(gateway(tmp_path, store, **settings))


def _person(client: TestClient, login: str, kind: str = "webrtc") -> None:
    people: People = client.app.state.console.people  # type: ignore[attr-defined]
    people.add(login, "张三", Role.operator, PASSWORD, phone_kind=kind)  # type: ignore[arg-type]
    assert log_in(client, login).status_code == 303


def test_the_settings_carry_the_configured_domain(tmp_path: Path, sqlite_store: Store) -> None:
    with _client(tmp_path, sqlite_store, console_sip_domain="pbx.console.example") as client:
        _person(client, "alice")
        settings = client.get("/console/softphone.json").json()
        alice = client.app.state.console.people.by_login("alice")  # type: ignore[attr-defined]
    assert settings["domain"] == "pbx.console.example" and settings["user"] == "op-alice"
    # the digest Asterisk holds, and its realm: no password reaches the page
    assert settings["ha1"] == alice.sip_ha1 and settings["realm"] == "hotline-96010"
    assert "password" not in settings


def test_no_websocket_configured_is_explained(tmp_path: Path, sqlite_store: Store) -> None:
    with _client(tmp_path, sqlite_store, console_sip_ws=None) as client:
        _person(client, "alice")
        answer = client.get("/console/softphone.json")
        board = client.get("/console/", headers={"accept": "text/html"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "no_softphone"
    assert "浏览器软电话未启用" in error["message"] and "HOTLINE_CONSOLE_SIP_WS" in error["message"]
    assert 'id="softphone-off"' in board.text  # where board.js shows that message


def test_a_desk_phone_user_is_told_so(tmp_path: Path, sqlite_store: Store) -> None:
    with _client(tmp_path, sqlite_store) as client:
        _person(client, "bob", kind="deskphone")
        answer = client.get("/console/softphone.json")
    assert answer.status_code == 404 and "桌面话机" in answer.json()["error"]["message"]
