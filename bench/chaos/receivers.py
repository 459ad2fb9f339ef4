"""Stand-ins that count what the gateway sends out: a destination's webhook receiver (every
delivery, with its idempotency key ``X-Hotline-Delivery``), and Twilio's and WeChat's APIs
(the notifications to residents, tests/support's stand-ins)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from delivery import webhooks
from tests.support.services import free_port
from tests.support.standin import JsonHandler, serving
from tests.support.twilio_api import TwilioApi, twilio_api
from tests.support.wechat_api import WechatApi, wechat_api


@dataclass(frozen=True)
class Received:
    delivery: str
    destination: str
    ticket_id: str
    status: str


@dataclass
class WebhookReceiver:
    url: str
    secret: str
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _webhook_handler(receiver: WebhookReceiver) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                delivery = webhooks.verify(receiver.secret, raw, dict(self.headers.items()),
                                           time.time())
                doc: dict[str, Any] = json.loads(raw)
            except (webhooks.Refused, ValueError):
                with receiver.lock:
                    receiver.refused += 1
                self.send_json({"error": "refused"}, 401)
                return
            ticket = doc.get("ticket") or {}
            with receiver.lock:
                receiver.received.append(Received(delivery, str(doc.get("destination")),
                                                  str(ticket.get("id")),
                                                  str(ticket.get("status"))))
            self.send_json({"ok": True})

    return Handler


@dataclass
class Receivers:
    webhook: WebhookReceiver
    twilio: TwilioApi
    wechat: WechatApi


@contextmanager
def receivers(webhook_secret: str, wechat_app_id: str, wechat_app_secret: str
              ) -> Iterator[Receivers]:
    port = free_port()
    hook = WebhookReceiver(f"http://127.0.0.1:{port}/hotline", webhook_secret)
    with ExitStack() as stack:
        stack.enter_context(serving(port, _webhook_handler(hook)))
        twilio = stack.enter_context(twilio_api())
        wechat = stack.enter_context(wechat_api(wechat_app_id, wechat_app_secret))
        yield Receivers(hook, twilio, wechat)
