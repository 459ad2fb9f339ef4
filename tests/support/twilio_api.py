"""A local HTTP server speaking the part of Twilio's REST API the gateway uses (Messages.json),
for the real ``twilio`` client pointed at it by ``HOTLINE_TWILIO_API_URL``.

It records every request (method, path, Authorization, form fields) for the test to check
afterwards — nothing is asserted inside the server, where a failure would be swallowed — and
answers as Twilio does: 201 with the message resource, or the error JSON Twilio sends. The
test scripts what comes next with :meth:`TwilioApi.plan` (``"ok"``, ``(status, code)``,
``"slow"``: answer after the client's timeout, ``"refuse"``: no server at all is simulated by
stopping it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.support.services import free_port
from tests.support.standin import JsonHandler, serving


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    form: dict[str, list[str]]


@dataclass
class TwilioApi:
    url: str
    requests: list[Seen] = field(default_factory=list)
    script: list[object] = field(default_factory=list)
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def plan(self, *answers: object) -> None:
        with self.lock:
            self.script.extend(answers)

    def next_answer(self) -> object:
        with self.lock:
            self.counter += 1
            return self.script.pop(0) if self.script else "ok"

    def messages(self) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith("/Messages.json")]


def _handler(api: TwilioApi) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = parse_qs(body, keep_blank_values=True)
            api.requests.append(Seen("POST", self.path, self.headers.get("Authorization"),
                                     form))
            answer = api.next_answer()
            if answer == "slow":
                time.sleep(api.slow_seconds)
                answer = "ok"
            if isinstance(answer, tuple):
                status, code = answer
                self.send_json({"code": code, "message": f"error {code}",
                                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                "status": status}, status)
                return
            account = self.path.split("/")[3] if self.path.count("/") >= 4 else ""
            sid = f"SM{api.counter:032x}"
            self.send_json(status=201, payload={
                "sid": sid, "account_sid": account, "status": "queued",
                "to": form.get("To", [""])[0], "from": form.get("From", [""])[0],
                "body": form.get("Body", [""])[0], "num_segments": "1", "direction":
                "outbound-api", "api_version": "2010-04-01", "price": None,
                "error_code": None, "error_message": None,
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                "date_created": "Mon, 07 Dec 2026 10:00:00 +0000",
                "date_updated": "Mon, 07 Dec 2026 10:00:00 +0000", "date_sent": None,
            })

    return Handler


@contextmanager
def twilio_api() -> Iterator[TwilioApi]:
    port = free_port()
    api = TwilioApi(f"http://127.0.0.1:{port}")
    with serving(port, _handler(api)):
        yield api
