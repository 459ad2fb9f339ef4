"""The request log: one access line per request with the path only (query strings carry
openids and signatures), the status and a request id that is echoed in ``X-Request-ID`` and
attached to every line logged while the request is handled."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from channels.wechat.signature import digest
from hotline import logs
from hotline.app import create_app
from hotline.requestlog import RequestLog, request_id
from hotline.settings import Settings
from tickets.store import Store

TOKEN = "wx-token-7f3a9c"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
GENERATED = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def client(sqlite_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path,
                        wechat_token=TOKEN, max_body_bytes=1024)
    with TestClient(create_app(settings, store=sqlite_store, redis_url="")) as c:
        yield c


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hotline.access"]


def signed_query(**extra: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "n0nce42"
    return {"signature": digest(TOKEN, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, **extra}


def test_the_access_line_has_the_path_but_never_the_query(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("INFO", "json")  # what every gateway process runs with, to stderr
    logging.getLogger().addHandler(caplog.handler)  # setup() replaced it
    caplog.set_level(logging.INFO)
    query = signed_query(openid=OPENID, echostr="echo-7731")
    response = client.get("/channels/wechat", params=query)
    assert response.status_code == 200 and response.text == "echo-7731"
    refused = client.get("/channels/wechat",
                         params={**query, "signature": "ab12cd34" * 5})
    assert refused.status_code == 403

    first, second = access_lines(caplog)
    assert first.getMessage().startswith("GET /channels/wechat 200 ")
    assert second.getMessage().startswith("GET /channels/wechat 403 ")
    assert re.fullmatch(r"GET /channels/wechat 200 \d+\.\dms", first.getMessage())
    assert first.__dict__["status"] == 200 and first.__dict__["client"] == "testclient"
    # nothing of the query string in any line of the gateway's, captured or written (the
    # test's HTTP client, httpx2, logs its own request URLs: that is the caller's side)
    rows = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    gateway = [json.dumps(row, ensure_ascii=False) for row in rows
               if not row["logger"].startswith("httpx")]
    gateway += [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert len(gateway) >= 4
    everything = "\n".join(gateway)
    for secret in (OPENID, query["signature"], "ab12cd34", "echo-7731", "n0nce42", "?"):
        assert secret not in everything, secret
    access = [row for row in rows if row["logger"] == "hotline.access"]
    assert [row["request_id"] for row in access] == [
        response.headers["x-request-id"], refused.headers["x-request-id"]]


def test_a_well_formed_request_id_is_echoed(client: TestClient,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for given in ("abcdefgh", "proxy-1f2e3d4c.5b6a_7980", "A" * 64):
        response = client.get("/healthz", headers={"X-Request-ID": given})
        assert response.headers["x-request-id"] == given
    assert [r.getMessage().split()[:3] for r in access_lines(caplog)] == [
        ["GET", "/healthz", "200"]] * 3


@pytest.mark.parametrize("given", [
    None,  # none given
    b"short",  # fewer than 8 characters
    b"A" * 65,  # too long
    b"has space in it",
    b"back\\slash-abcdef",
    b"id;with;semicolons",
    "Ünïcode-identifier".encode(),
    "Ünïcode-identifier".encode("latin-1"),
])
def test_a_missing_or_malformed_request_id_is_replaced(client: TestClient,
                                                        given: bytes | None) -> None:
    headers = {} if given is None else {b"x-request-id": given}
    response = client.get("/healthz", headers=headers)
    assert response.status_code == 200
    made = response.headers["x-request-id"]
    assert GENERATED.fullmatch(made)
    assert client.get("/healthz", headers=headers).headers["x-request-id"] != made  # fresh


def test_refusals_before_the_app_are_logged_with_their_id(
    client: TestClient, caplog: pytest.LogCaptureFixture,
) -> None:
    """The body limit answers 413 outside the app: the request log is outermost."""
    caplog.set_level(logging.INFO)
    response = client.post("/api/v1/intake?openid=" + OPENID, content=b"x" * 4096,
                           headers={"X-Request-ID": "big-body-0001"})
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big-body-0001"
    [line] = access_lines(caplog)
    assert line.getMessage().startswith("POST /api/v1/intake 413 ")


# -- the middleware alone --------------------------------------------------------------------

def small_app() -> FastAPI:
    app = FastAPI()
    log = logging.getLogger("hotline.test")

    @app.get("/work")
    async def work() -> dict[str, str]:
        log.info("working on it")
        return {"request_id": request_id.get()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    app.add_middleware(RequestLog)
    return app


def test_lines_logged_while_handling_carry_the_request_id(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("INFO", "text")
    caplog.set_level(logging.INFO)
    with TestClient(small_app()) as c:
        response = c.get("/work", headers={"X-Request-ID": "req-0000abcd"})
    assert response.json() == {"request_id": "req-0000abcd"}
    lines = [line for line in capsys.readouterr().err.splitlines() if "[req-0000abcd]" in line]
    assert len(lines) == 2
    assert lines[0].endswith("hotline.test [req-0000abcd]: working on it")
    assert " hotline.access [req-0000abcd]: GET /work 200 " in lines[1]  # after the work
    assert request_id.get() == "-"  # not left behind for whatever runs next


def test_an_unhandled_error_is_logged_as_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(small_app(), raise_server_exceptions=False) as c:
        response = c.get("/boom?openid=" + OPENID)
    assert response.status_code == 500
    [line] = access_lines(caplog)
    assert line.getMessage().startswith("GET /boom 500 ")
