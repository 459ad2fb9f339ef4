"""``/docs`` and ``/redoc`` come from the project's own files under a CSP that allows exactly
the one inline script Swagger UI's page carries; without the built files they say how to build
them (503, JSON)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from hotline import apidocs
from tickets import httperrors

BUILT = all((apidocs.ASSETS / name).is_file() for name in apidocs.NEEDED)
needs_built = pytest.mark.skipif(not BUILT, reason="run 'make apidocs' first")


def app_with(folder: Path) -> TestClient:
    app = FastAPI(title="t", docs_url=None, redoc_url=None)
    httperrors.install(app)
    apidocs.install(app, folder)
    return TestClient(app)


def sha256(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


@needs_built
def test_swagger_ui_page_points_at_local_files_and_its_inline_script_is_hashed() -> None:
    client = app_with(apidocs.ASSETS)
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "fastapi.tiangolo.com" not in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/static/") for s in sources), sources
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert len(inline) == 1
    csp = page.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{sha256(inline[0])}';" in csp
    assert "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
        again = client.get(source, headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304


@needs_built
def test_redoc_page_points_at_local_files_without_google_fonts() -> None:
    client = app_with(apidocs.ASSETS)
    page = client.get("/redoc")
    assert page.status_code == 200
    assert "googleapis" not in page.text and "cdn.jsdelivr.net" not in page.text
    assert '<script src="/docs/static/redoc.standalone.js?v=' in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]  # no inline script


def test_without_the_built_files_the_pages_say_how_to_build_them(tmp_path: Path) -> None:
    client = app_with(tmp_path / "absent")
    for path in ("/docs", "/redoc"):
        answer = client.get(path)
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == "docs_not_built" and "make apidocs" in error["message"]
    missing = client.get("/docs/static/swagger-ui-bundle.js")
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_only_known_kinds_of_file_are_served(tmp_path: Path) -> None:
    (tmp_path / "swagger-ui.css").write_text("body{}")
    (tmp_path / "secret.env").write_text("x")
    client = app_with(tmp_path)
    assert client.get("/docs/static/swagger-ui.css").text == "body{}"
    assert client.get("/docs/static/secret.env").status_code == 404
    assert client.get("/docs/static/..%2Fsecret.env").status_code == 404
