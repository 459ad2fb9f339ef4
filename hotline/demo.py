"""``hotline demo``: send sample intakes to a running gateway the way real clients do, then
follow the tickets through the loop (playing the back office for one of them).

Each channel that is configured gets one message: the generic JSON intake (API key), a signed
Twilio SMS webhook, a signed WeChat message and a web-form post (CSRF token from the page).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from channels.twilio_sms import demo as sms_demo
from channels.twilio_sms.config import TwilioConfig
from channels.wechat import demo as wechat_demo
from channels.wechat import envelope, xmlsafe
from channels.wechat.config import WechatConfig
from hotline.channels_config import twilio_config, wechat_config
from hotline.settings import Settings
from tickets.model import NUMBER_IN_TEXT, Status

STEP_NAMES = {
    "received": "1 采集受理 received",
    "registered": "2 案卷建立 registered",
    "dispatched": "3 指挥派遣 dispatched",
    "in_progress": "4 任务处理 in_progress",
    "resolved": "5 处理反馈 resolved",
    "closed": "6 核实结案 closed",
    "evaluated": "7 综合评价 evaluated",
    "merged": "merged",
    "rejected": "rejected",
}
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
TICKET_NUMBER = re.compile(r"工单号?\s*" + NUMBER_IN_TEXT.pattern)
# grid cells of router/config/places.yaml: the API ticket's (东四) and the QR poster's (北新桥)
API_GRID = "DC-DS-0101"
WEB_GRID = "DC-BXQ-0101"
# the seven-step loop's statuses a back office walks a ticket through, in order (the model's
# order; merged and rejected end a ticket off the loop)
LOOP_ORDER = tuple(s.value for s in Status if s not in (Status.merged, Status.rejected))


@dataclass
class Sent:
    channel: str
    number: str | None
    detail: str


def _api(client: httpx.Client, key: str, run: str) -> Sent:
    r = client.post(
        "/api/v1/intake",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "channel_ref": f"demo-{run}",
            "kind": "report",
            "text": "东四北大街路口的井盖丢失，夜里很危险。",
            "citizen": {"phone": "+8613800138000", "name": "王女士", "consent_to_contact": True},
            "location": {"address": "东城区东四北大街与东四十条交叉口", "grid": API_GRID},
        },
    )
    return Sent("api", r.json().get("number") if r.is_success else None, f"HTTP {r.status_code}")


def _sms(client: httpx.Client, config: TwilioConfig, run: str) -> Sent:
    path, headers, form = sms_demo.sample_request(
        config, "小区楼道的灯坏了一周了，请尽快修理。", "+8613900139000",
        "SM" + uuid.uuid5(uuid.NAMESPACE_URL, run).hex)
    r = client.post(path, headers=headers, data=form)
    return Sent("sms", _number(r.text), f"HTTP {r.status_code}")


def _wechat(client: httpx.Client, config: WechatConfig, run: str) -> Sent:
    path, headers, body = wechat_demo.sample_request(
        config, "建议在胡同口增加垃圾分类投放点。", "oDemo" + run[:12],
        int(time.time() * 1000) % 10**15)
    r = client.post(path, headers=headers, content=body)
    return Sent("wechat", _number(_wechat_reply_text(config, r.content)), f"HTTP {r.status_code}")


def _wechat_reply_text(config: WechatConfig, body: bytes) -> str:
    """The passive reply as the resident sees it (decrypted in safe mode)."""
    fields: dict[str, str] = xmlsafe.parse_fields(body) if body.strip() else {}
    if "Encrypt" in fields and config.token and config.aes_key:
        mode = envelope.SafeMode(config.token, config.aes_key, config.app_id or "")
        plain = mode.crypto().decrypt_message(
            {"Encrypt": fields["Encrypt"]}, fields.get("MsgSignature", ""),
            fields.get("TimeStamp", ""), fields.get("Nonce", ""))
        fields = xmlsafe.parse_fields(plain.encode() if isinstance(plain, str) else plain)
    return fields.get("Content", "")


def _web(client: httpx.Client, run: str) -> Sent:
    page = client.get(f"/report?grid={WEB_GRID}")
    if page.status_code != 200:
        return Sent("web", None, f"form answered HTTP {page.status_code}")
    fields = dict(HIDDEN.findall(page.text))
    fields.update({"kind": "help", "description": "家门口的自来水管漏水，已经流到路面。",
                   "address": "东城区北新桥三条8号", "phone": "13700137000", "consent": "on"})
    r = client.post("/report", data=fields, files={"photos": ("", b"", "application/octet-stream")})
    return Sent("web", _number(r.text), f"HTTP {r.status_code}")


def _number(text: str) -> str | None:
    m = TICKET_NUMBER.search(text) or NUMBER_IN_TEXT.search(text)
    return m.group(1) if m else None


def send_all(client: httpx.Client, key: str | None, settings: Settings,
             say: Callable[[str], None]) -> list[Sent]:
    run = uuid.uuid4().hex
    twilio, wechat = twilio_config(settings), wechat_config(settings)
    senders: list[tuple[str, Callable[[], Sent]]] = []
    if key:
        senders.append(("api", lambda: _api(client, key, run)))
    if twilio.auth_token and twilio.public_url:
        senders.append(("sms", lambda: _sms(client, twilio, run)))
    if wechat.token:
        senders.append(("wechat", lambda: _wechat(client, wechat, run)))
    if settings.web_secret is not None:
        senders.append(("web", lambda: _web(client, run)))
    sent: list[Sent] = []
    for name, send in senders:
        try:
            result = send()
        except httpx.HTTPError as exc:
            result = Sent(name, None, f"request failed: {exc}")
        say(f"  {result.channel:7} → ticket {result.number or '—'} ({result.detail})")
        sent.append(result)
    return sent


def follow(client: httpx.Client, key: str, numbers: list[str], say: Callable[[str], None],
           timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """Print each ticket's status as it changes, until the router has taken every one past
    ``received`` (to ``registered`` when it waits for a person or a failing delivery,
    ``dispatched`` when every destination acknowledged, ``merged`` into an open ticket) or
    time is up."""
    headers = {"Authorization": f"Bearer {key}"}
    last: dict[str, str] = {}
    tickets: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for number in numbers:
            r = client.get(f"/api/v1/tickets/{number}", headers=headers)
            if not r.is_success:
                continue
            t = r.json()
            tickets[number] = t
            if last.get(number) != t["status"]:
                last[number] = t["status"]
                say(f"  {number} [{t['channel']:6}] {STEP_NAMES[t['status']]}")
        if numbers and len(tickets) == len(numbers) and all(map(_settled, tickets.values())):
            break
        time.sleep(0.3)
    return tickets


def _settled(ticket: dict[str, Any]) -> bool:
    """Past ``received``, and not a placed ticket whose deliveries are still under way (it
    becomes ``dispatched`` a moment later)."""
    if ticket["status"] == "received":
        return False
    routing = ticket.get("routing") or {}
    return not (ticket["status"] == "registered" and not routing.get("needs")
                and any(d.get("status") == "pending" for d in routing.get("destinations", [])))


def play_back_office(client: httpx.Client, key: str, number: str,
                     say: Callable[[str], None]) -> None:
    """Walk one ticket through steps 3–7 through the events API, as a back office would."""
    headers = {"Authorization": f"Bearer {key}"}
    r = client.get(f"/api/v1/tickets/{number}", headers=headers)
    current = r.json()["status"] if r.is_success else "registered"
    if current not in LOOP_ORDER:
        say(f"  {number} {STEP_NAMES.get(current, current)}: the loop does not go on from here")
        return
    steps: list[dict[str, Any]] = [
        {"status": "dispatched", "department": "东四街道", "loop": "small",
         "note": "派至东四街道城管科"},
        {"status": "in_progress", "note": "网格员已到现场"},
        {"status": "resolved", "note": "已补装井盖并设置警示"},
        {"status": "closed", "note": "回访核实：已处理"},
        {"status": "evaluated", "evaluation": {"score": 5, "comment": "很及时", "channel": "api"}},
    ]
    done = LOOP_ORDER.index(current)
    for step in steps:
        if LOOP_ORDER.index(step["status"]) <= done:
            continue  # the router (or an earlier run) already took it there
        r = client.post(f"/api/v1/tickets/{number}/events", headers=headers,
                        json={"actor": "demo-back-office", **step})
        if not r.is_success:
            say(f"  {number} event refused: HTTP {r.status_code} {r.text}")
            return
        note = f"  ({step['note']})" if step.get("note") else ""
        say(f"  {number} {STEP_NAMES[r.json()['status']]}{note}")
