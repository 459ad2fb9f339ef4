"""End to end on real Redis and PostgreSQL (issue 11): ``hotline serve``, ``relay`` and
``worker`` as their own processes, a classifier trained by ``hotline router train``, a signed
Twilio SMS and a web-form report naming places in two different streets — both tickets reach
``dispatched`` at the right street, read back through the API feed. No webhooks or streams are
configured, so every destination is feed-only and acknowledges at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from tests.hotline.gateway import base_env, hotline
from tests.support.services import PostgresServer, RedisServer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TWILIO_TOKEN = "e2e-twilio-token-0123456789abcdef"
WEB_SECRET = "e2e-web-secret-0123456789abcdef0123456789"
SMS = "东四三条12号门口的井盖丢了，晚上很危险"  # 东四 street (DS)
WEB = "簋街东头那个路灯不亮了，晚上黑灯瞎火的"  # 北新桥 street (BXQ)
PATIENCE = 180.0  # seconds before giving up on a step (a guard on a shared machine, not a goal)


@dataclass
class Gateway:
    workdir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['HOTLINE_HTTP_PORT']}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(hotline(*args), env=self.env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def start(self, name: str, *args: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(
                hotline(*args), env=self.env, cwd=self.workdir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.workdir / f"{name}.log").read_text(
            errors="replace")[-3000:] for name in self.procs)

    def alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited early\n{self.logs()}"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the session this test started
                proc.wait()


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
               HOTLINE_WEB_SECRET=WEB_SECRET,
               HOTLINE_LOG_LEVEL="INFO")
    gw = Gateway(tmp_path, env)
    try:
        yield gw
    finally:
        gw.stop()


def api_key(gw: Gateway) -> dict[str, str]:
    out = gw.workdir / "key.txt"
    gw.run("apikey", "create", "--scope", "read", "--name", "e2e", "--out", str(out))
    return {"Authorization": f"Bearer {out.read_text().strip()}"}


def send_sms(client: httpx.Client, gw: Gateway) -> None:
    config = TwilioConfig(auth_token=TWILIO_TOKEN, public_url=gw.env["HOTLINE_PUBLIC_URL"])
    path, headers, form = sample_request(config, SMS, "+8613912345678", "SM" + "e2e" * 10)
    r = client.post(path, data=form, headers=headers)
    assert r.status_code == 200, r.text
    assert "工单号" in r.text


def send_web_report(client: httpx.Client) -> str:
    page = client.get("/report", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    fields = {"kind": "complaint", "description": WEB, "address": "东直门内大街",
              "phone": "13800138000", "consent": "on", "csrf": token.group(1)}
    r = client.post("/report?submit=1", data=fields, headers={"accept": "text/html"},
                    files=[("photos", ("", b"", "application/octet-stream"))])
    assert r.status_code == 200, r.text
    number = re.search(r'id="ticket-number">(\d{10,})<', r.text)
    assert number, r.text
    return number.group(1)


def feed(client: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/v1/tickets", params={"after": 0, "limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    tickets: list[dict[str, Any]] = r.json()["tickets"]
    return tickets


def test_sms_and_web_reports_are_dispatched_to_their_streets(gateway: Gateway) -> None:
    gw = gateway
    trained = gw.run("router", "train", "--out", gw.env["HOTLINE_CLASSIFIER"])
    assert "held-out" in trained.stdout and Path(gw.env["HOTLINE_CLASSIFIER"]).is_file()
    gw.run("migrate")
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
        sent = time.monotonic()
        send_sms(client, gw)
        web_number = send_web_report(client)

        def both_dispatched() -> bool:
            gw.alive()
            found = feed(client, headers)
            return len(found) == 2 and all(t["status"] == "dispatched" for t in found)

        try:
            wait_until(both_dispatched, timeout=PATIENCE, interval=0.3)
        except TimeoutError:
            pytest.fail(f"not dispatched: {feed(client, headers)}\n{gw.logs()}")
        took = time.monotonic() - sent
        tickets = {t["channel"]: t for t in feed(client, headers)}

    print(f"both tickets dispatched {took:.1f} s after the SMS was sent")  # for the record
    sms, web = tickets["sms"], tickets["web"]
    assert web["number"] == web_number
    assert (sms["location"]["street"], sms["category"], sms["loop"]) == \
        ("DS", "municipal.manhole", "small")
    assert (web["location"]["street"], web["category"], web["loop"]) == \
        ("BXQ", "municipal.streetlight", "small")
    for t, street in ((sms, "DS"), (web, "BXQ")):
        routing = t["routing"]
        assert routing["needs"] == [] and routing["place"]["source"] == "gazetteer"
        assert [(d["id"], d["status"]) for d in routing["destinations"]] == \
            [(f"street:{street}", "delivered")]
        statuses = [h["status"] for h in t["history"] if h["status"]]
        assert statuses == ["received", "registered", "dispatched"]
        notes = " | ".join(h["note"] or "" for h in t["history"])
        assert f"to street:{street}" in notes and "delivered to" in notes
