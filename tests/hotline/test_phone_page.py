"""``/phone``: off unless HOTLINE_PHONE_PAGE; the page carries its settings as JSON data (the
WebSocket, the resident endpoint, the console's SIP domain), no inline script, a CSP that lets
it reach the WebSocket only, the WebRTC limits stated; its files and nothing else are served."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tickets.store import Store

WS = "ws://127.0.0.1:8088/ws"


def client(tmp_path: Path, store: Store, **values: object) -> TestClient:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path, **values)
    return TestClient(create_app(settings, store=store, redis_url=""))


def test_off_by_default(tmp_path: Path, sqlite_store: Store) -> None:
    with client(tmp_path, sqlite_store) as c:
        assert c.get("/phone").status_code == 404
        assert c.get("/phone/static/phone.js").status_code == 404


def test_the_page(tmp_path: Path, sqlite_store: Store) -> None:
    with client(tmp_path, sqlite_store, phone_page=True, console_sip_ws=WS) as c:
        page = c.get("/phone")
        files = {name: c.get(f"/phone/static/{name}") for name in
                 ("jssip.min.js", "softphone.js", "phone.js", "phone.css")}
        missing = c.get("/phone/static/..%2Fphone_page.py")
        other = c.get("/phone/static/board.js")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and f"connect-src 'self' {WS};" in csp
    assert "microphone=(self)" in page.headers["permissions-policy"]
    found = re.search(r'<script type="application/json" id="phone-config">(.*?)</script>',
                      page.text)
    assert found is not None
    config = json.loads(found.group(1))
    assert config == {"server": WS, "user": "resident-web", "password": "",
                      "domain": "hotline-96010.invalid", "displayName": "网页电话",
                      "audioElement": "phone-audio", "autoAnswer": False, "iceServers": [],
                      "register": False, "target": "96010"}
    # every other script is a file
    assert len(re.findall(r"<script(?![^>]*(?:src=|application/json))", page.text)) == 0
    assert "Asterisk 从不提供 127.0.0.1 的媒体地址" in page.text and "10080" in page.text
    assert all(r.status_code == 200 for r in files.values()), files
    assert files["phone.js"].headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404 and other.status_code == 404
    assert other.json()["error"]["code"]


def test_without_a_websocket_the_page_says_so(tmp_path: Path, sqlite_store: Store) -> None:
    with client(tmp_path, sqlite_store, phone_page=True) as c:
        page = c.get("/phone")
    assert page.status_code == 200 and "HOTLINE_CONSOLE_SIP_WS" in page.text
    assert "connect-src 'self';" in page.headers["content-security-policy"]
