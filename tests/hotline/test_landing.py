"""``GET /``: the front page in Chinese with the web form, the status lookup, and for staff the
console (only when it is on), the API documentation and readiness — no script, strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tickets.store import Store


def page(store: Store, tmp_path: Path, **over: str) -> str:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path, **over)
    with TestClient(create_app(settings, store=store, redis_url="")) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    return answer.text


def test_front_page_links_every_way_in(sqlite_store: Store, tmp_path: Path) -> None:
    html = page(sqlite_store, tmp_path, console_secret="c" * 40)
    assert '<html lang="zh-CN">' in html
    links = set(re.findall(r'href="([^"]+)"', html))
    assert {"/report", "/console/", "/docs", "/redoc", "/openapi.json", "/readyz"} <= links
    assert 'action="/status"' in html and 'name="number"' in html
    assert "办理进度查询" in html and "在线反映" in html
    assert "<script>" not in html


def test_front_page_says_the_console_is_off(sqlite_store: Store, tmp_path: Path) -> None:
    html = page(sqlite_store, tmp_path)
    assert 'href="/console/"' not in html
    assert "HOTLINE_CONSOLE_SECRET" in html
