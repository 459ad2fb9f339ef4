"""Closing the loop end to end on real Redis and PostgreSQL (issue 17): ``hotline serve``,
``relay`` and ``worker`` as their own processes, the router trained, Twilio's REST API replaced
by a local server speaking it (the real ``twilio`` client pointed at it by
``HOTLINE_TWILIO_API_URL``).

1. A signed SMS comes in → the router dispatches it to its street → the back office resolves it
   with a reply through the events API → an SMS goes out naming the number, quoting the reply
   and asking "solved?" → the resident answers "1", then "1" → ``evaluated`` (solved,
   satisfied); Twilio's signed delivery report lands in the history.
2. "2 …" → back to ``in_progress`` (reopened 1) → resolved again → a second SMS → "未解决" →
   the big loop (district center), never closed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from channels.twilio_sms.verify import sign
from tests.hotline.gateway import base_env
from tests.integration.router.test_end_to_end import PATIENCE, Gateway
from tests.support.services import PostgresServer, RedisServer, wait_until
from tests.support.twilio_api import TwilioApi, twilio_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "loop-twilio-token-0123456789abcdef"
SID = "AC" + "9" * 32
FROM = "+8610690096010"
SMS = "东四三条12号门口的井盖丢了，晚上很危险"  # 东四 street (DS), municipal.manhole


@pytest.fixture
def stack(tmp_path: Path, redis_server: RedisServer,
          postgres: PostgresServer) -> Iterator[tuple[Gateway, TwilioApi, dict[str, str]]]:
    with twilio_api() as api:
        env = base_env(tmp_path)
        env.update(HOTLINE_DATABASE_URL=postgres.create_database(),
                   HOTLINE_REDIS_URL=redis_server.url,
                   HOTLINE_CLASSIFIER=str(tmp_path / "classifier.joblib"),
                   HOTLINE_RATE_LIMITS="false",
                   HOTLINE_TWILIO_AUTH_TOKEN=TOKEN, HOTLINE_TWILIO_ACCOUNT_SID=SID,
                   HOTLINE_TWILIO_FROM=FROM, HOTLINE_TWILIO_API_URL=api.url,
                   HOTLINE_QUIET_HOURS="",  # the test runs at any hour
                   HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{env['HOTLINE_HTTP_PORT']}",
                   HOTLINE_LOG_LEVEL="INFO")
        gw = Gateway(tmp_path, env)
        try:
            gw.run("router", "train", "--out", env["HOTLINE_CLASSIFIER"])
            gw.run("migrate")
            gw.start("serve", "serve")
            gw.start("relay", "relay")
            gw.start("worker", "worker", "dispatch", "deliver", "notify")

            def up() -> bool:
                gw.alive()
                try:
                    return httpx.get(f"{gw.url}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(up, timeout=PATIENCE, interval=0.3)
            out = tmp_path / "key.txt"
            gw.run("apikey", "create", "--scope", "read,events", "--name", "backoffice",
                   "--out", str(out))
            yield gw, api, {"Authorization": f"Bearer {out.read_text().strip()}"}
        finally:
            gw.stop()


def sms(client: httpx.Client, gw: Gateway, text: str, sid: str, phone: str) -> str:
    config = TwilioConfig(auth_token=TOKEN, public_url=gw.env["HOTLINE_PUBLIC_URL"])
    path, headers, form = sample_request(config, text, phone, sid)
    r = client.post(path, data=form, headers=headers)
    assert r.status_code == 200, r.text
    return str(SafeET.fromstring(r.content).findtext("Message"))


def ticket(client: httpx.Client, headers: dict[str, str], number: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/tickets/{number}", headers=headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def wait_for(gw: Gateway, what: str, check: Any) -> None:
    def ok() -> bool:
        gw.alive()
        return bool(check())

    try:
        wait_until(ok, timeout=PATIENCE, interval=0.3)
    except TimeoutError:
        pytest.fail(f"{what} never happened\n{gw.logs()}")


def dispatched_ticket(client: httpx.Client, gw: Gateway, headers: dict[str, str],
                      phone: str, sid: str) -> str:
    ack = sms(client, gw, SMS, sid, phone)
    number = ack.split("工单号")[1][:10]
    wait_for(gw, "dispatch",
             lambda: ticket(client, headers, number)["status"] == "dispatched")
    return number


def event(client: httpx.Client, headers: dict[str, str], number: str, **body: Any) -> None:
    r = client.post(f"/api/v1/tickets/{number}/events", headers=headers,
                    json={"actor": "street:DS", **body})
    assert r.status_code == 200, r.text


def test_solved_and_satisfied_by_sms(stack: tuple[Gateway, TwilioApi, dict[str, str]]) -> None:
    gw, api, headers = stack
    phone = "+8613912345678"
    with httpx.Client(base_url=gw.url, timeout=30) as client:
        number = dispatched_ticket(client, gw, headers, phone, "SM" + "a1" * 16)
        event(client, headers, number, status="in_progress", event_id="e1")
        resolved_at = time.monotonic()
        event(client, headers, number, status="resolved", note="井盖已补装，请您核实",
              event_id="e2")
        wait_for(gw, "the SMS to the resident", lambda: len(api.messages()) == 1)
        print(f"resolved → SMS at the Twilio stand-in: {time.monotonic() - resolved_at:.2f} s")
        [out] = api.messages()
        body = out.form["Body"][0]
        assert out.form["To"] == [phone] and out.form["From"] == [FROM]
        assert number in body and "井盖已补装" in body and "回复 1 已解决，2 未解决" in body
        callback = out.form["StatusCallback"][0]
        wait_for(gw, "the notified entry", lambda: any(
            h["kind"] == "asked" for h in ticket(client, headers, number)["history"]))

        first = sms(client, gw, "1", "SM" + "a2" * 16, phone)
        assert "已办结" in first and "满意吗" in first
        second = sms(client, gw, "１", "SM" + "a3" * 16, phone)
        assert "感谢您对工单" in second

        # Twilio reports the first message delivered, signed as it signs webhooks
        report = {"MessageSid": "SM" + "0" * 31 + "1", "MessageStatus": "delivered",
                  "AccountSid": SID}
        parts = urlsplit(callback)
        r = client.post(f"{parts.path}?{parts.query}", data=report,
                        headers={"X-Twilio-Signature": sign(TOKEN, callback, report)})
        assert r.status_code == 204, r.text

        done = ticket(client, headers, number)
    assert done["status"] == "evaluated"
    assert done["evaluation"]["solved"] is True
    assert done["evaluation"]["satisfaction"] == "satisfied"
    kinds = [h["kind"] for h in done["history"] if h["kind"]]
    assert kinds == ["notified", "asked", "answered", "asked", "answered", "notified"]
    assert "delivered" in done["history"][-1]["note"]
    assert len(api.messages()) == 1  # the questions after it went in the replies


def test_not_solved_twice_goes_to_the_big_loop(
        stack: tuple[Gateway, TwilioApi, dict[str, str]]) -> None:
    gw, api, headers = stack
    phone = "+8613812345678"
    with httpx.Client(base_url=gw.url, timeout=30) as client:
        number = dispatched_ticket(client, gw, headers, phone, "SM" + "b1" * 16)
        event(client, headers, number, status="in_progress", event_id="e1")
        event(client, headers, number, status="resolved", note="已处理", event_id="e2")
        wait_for(gw, "the first SMS", lambda: len(api.messages()) == 1)
        assert "重新办理" in sms(client, gw, "2，井盖还是没有", "SM" + "b2" * 16, phone)
        reopened = ticket(client, headers, number)
        assert (reopened["status"], reopened["reopened"]) == ("in_progress", 1)
        event(client, headers, number, status="resolved", note="已更换新井盖", event_id="e3")
        wait_for(gw, "the second SMS", lambda: len(api.messages()) == 2)
        assert "已更换新井盖" in api.messages()[1].form["Body"][0]
        assert "区级指挥中心" in sms(client, gw, "未解决", "SM" + "b3" * 16, phone)
        final = ticket(client, headers, number)
    assert (final["status"], final["reopened"], final["loop"]) == ("in_progress", 2, "big")
    assert "district" in [d["id"] for d in final["routing"]["destinations"]]
    assert final["evaluation"]["solved"] is False
