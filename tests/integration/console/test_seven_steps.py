"""The seven-step loop through the product alone, on real Redis and PostgreSQL with ``hotline
serve``, ``relay`` and ``worker`` as their own processes (issue 18):

1. a resident's SMS comes in (a signed Twilio webhook) → 2. the router registers, places and
classifies it → 3. dispatches it to the 东四 street (feed-only destination) → 4. the street's
desk person, logged in to the console, acknowledges (签收) → 5. replies (办结: resolved) →
6. the resident answers by SMS that it is solved → 7. and that they are satisfied; the
supervision's CSV shows the street's three rates move from "—" to 100%.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from tests.hotline.gateway import base_env
from tests.integration.router.test_end_to_end import PATIENCE, TWILIO_TOKEN, Gateway, api_key
from tests.support.services import PostgresServer, RedisServer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "seven-steps-console-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
PHONE = "+8613912345678"
SMS = "东四三条12号门口的井盖丢了，晚上很危险"  # 东四 street (DS)
HTML = {"accept": "text/html"}


@pytest.fixture
def gateway(tmp_path: Path, redis_server: RedisServer,
            postgres: PostgresServer) -> Iterator[Gateway]:
    env = base_env(tmp_path)
    env.update(HOTLINE_DATABASE_URL=postgres.create_database(),
               HOTLINE_REDIS_URL=redis_server.url,
               HOTLINE_CLASSIFIER=str(tmp_path / "classifier.joblib"),
               HOTLINE_RATE_LIMITS="false",
               HOTLINE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
               HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{env['HOTLINE_HTTP_PORT']}",
               HOTLINE_CONSOLE_SECRET=SECRET,
               HOTLINE_LOG_LEVEL="INFO")
    gw = Gateway(tmp_path, env)
    try:
        yield gw
    finally:
        gw.stop()


def sms(client: httpx.Client, gw: Gateway, text: str, sid: str) -> str:
    config = TwilioConfig(auth_token=TWILIO_TOKEN, public_url=gw.env["HOTLINE_PUBLIC_URL"])
    path, headers, form = sample_request(config, text, PHONE, sid)
    r = client.post(path, data=form, headers=headers)
    assert r.status_code == 200, r.text
    return r.text


def add_person(gw: Gateway, login: str, role: str, *unit: str) -> None:
    import subprocess

    from tests.hotline.gateway import hotline

    done = subprocess.run(hotline("operator", "add", login, "--name", login, "--role", role,
                                  *unit, "--password-stdin"), env=gw.env, cwd=gw.workdir,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def console(gw: Gateway, login: str) -> httpx.Client:
    client = httpx.Client(base_url=gw.url, timeout=30)
    page = client.get("/console/login", headers=HTML)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post("/console/login", headers=HTML, data={
        "login": login, "password": PASSWORD, "csrf": token.group(1), "next": "/console/"})
    assert r.status_code == 303, r.text
    return client


def act(desk: httpx.Client, number: str, action: str, text: str = "") -> None:
    page = desk.get(f"/console/desk/tickets/{number}", headers=HTML).text
    values = {name: re.search(rf'name="{name}" value="([^"]+)"', page) for name in
              ("csrf", "seq", "ref")}
    assert all(values.values()), page
    r = desk.post(f"/console/desk/tickets/{number}", headers=HTML, data={
        **{k: v.group(1) for k, v in values.items() if v}, "action": action, "text": text})
    assert r.status_code == 303, r.text


def street_rates(boss: httpx.Client) -> dict[str, str]:
    r = boss.get("/console/rates.csv", params={"period": "day", "group": "street",
                                                "table": "rates"})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    found = next((row for row in rows[1:] if row[1] == "东四街道"), None)
    assert found is not None, rows
    return dict(zip(rows[0], found, strict=True))


def test_the_seven_steps(gateway: Gateway) -> None:
    gw = gateway
    gw.run("router", "train", "--out", gw.env["HOTLINE_CLASSIFIER"])
    gw.run("migrate")
    add_person(gw, "ds", "street", "--unit", "DS")
    add_person(gw, "boss", "supervisor")
    gw.start("serve", "serve")
    gw.start("relay", "relay")
    gw.start("worker", "worker", "dispatch", "deliver")

    def up() -> bool:
        gw.alive()
        try:
            return httpx.get(f"{gw.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=PATIENCE, interval=0.3)
    headers = api_key(gw)
    with httpx.Client(base_url=gw.url, timeout=30) as client:
        # 1–3: in by SMS, routed and dispatched to the street
        assert "工单号" in sms(client, gw, SMS, "SM" + "s1" * 16)
        started = time.monotonic()

        def ticket() -> dict[str, object] | None:
            gw.alive()
            r = client.get("/api/v1/tickets", params={"after": 0}, headers=headers)
            found = r.json()["tickets"]
            return found[0] if found and found[0]["status"] == "dispatched" else None

        try:
            wait_until(lambda: ticket() is not None, timeout=PATIENCE, interval=0.3)
        except TimeoutError:
            pytest.fail(f"not dispatched\n{gw.logs()}")
        t = ticket()
        assert t is not None
        number = str(t["number"])
        assert [d["id"] for d in t["routing"]["destinations"]] == ["street:DS"]  # type: ignore[index]

        boss = console(gw, "boss")
        before = street_rates(boss)
        assert (before["响应率"], before["解决率"], before["满意率"]) == ("—", "—", "—")

        # 4–5: the street's desk acknowledges and replies
        desk = console(gw, "ds")
        assert number in desk.get("/console/desk", headers=HTML).text
        act(desk, number, "acknowledge")
        act(desk, number, "resolve", "井盖已补装，感谢您的反映。")
        r = client.get(f"/api/v1/tickets/{number}", headers=headers).json()
        assert r["status"] == "resolved"
        assert r["history"][-1]["actor"] == "street:DS/ds"
        middle = street_rates(boss)
        assert middle["响应率"] == "100.0%" and middle["解决率"] == "—"

        # 6–7: the resident answers by SMS: solved, then satisfied
        sms(client, gw, f"{number} 已解决", "SM" + "s2" * 16)
        sms(client, gw, f"{number} 满意", "SM" + "s3" * 16)
        r = client.get(f"/api/v1/tickets/{number}", headers=headers).json()
        assert r["status"] == "evaluated", r["history"][-3:]
        assert r["evaluation"]["solved"] is True
        assert r["evaluation"]["satisfaction"] == "satisfied"
        after = street_rates(boss)
        assert (after["响应率"], after["解决率"], after["满意率"]) == (
            "100.0%", "100.0%", "100.0%")
        print(f"the seven steps took {time.monotonic() - started:.1f} s after the SMS")
        for c in (desk, boss):
            c.close()
