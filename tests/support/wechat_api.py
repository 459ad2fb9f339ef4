"""A local HTTP server speaking the part of WeChat's official-account API the gateway uses
(``/cgi-bin/token``, ``/cgi-bin/message/custom/send``, ``/cgi-bin/message/template/send``), for
wechatpy's client pointed at it by ``HOTLINE_WECHAT_API_URL``. Every request is recorded for
the test to check afterwards; :meth:`WechatApi.expire` makes the current token invalid, as
WeChat does when a token is refreshed elsewhere or expires (errcode 40001 / 42001)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tests.support.services import free_port
from tests.support.standin import JsonHandler, serving


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object


@dataclass
class WechatApi:
    url: str
    app_id: str
    app_secret: str
    requests: list[Seen] = field(default_factory=list)
    tokens: int = 0
    valid: set[str] = field(default_factory=set)
    expired_code: int = 42001
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire(self, code: int = 42001) -> None:
        with self.lock:
            self.valid.clear()
            self.expired_code = code

    def sent(self) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith("/cgi-bin/message/")]


def _handler(api: WechatApi) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def _record(self, body: object) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            api.requests.append(Seen(self.command, parts.path, query, body))
            return parts.path, query

        def do_GET(self) -> None:
            path, query = self._record(None)
            if path != "/cgi-bin/token":
                self.send_json({"errcode": 404, "errmsg": "not found"}, 404)
                return
            if (query.get("appid") != [api.app_id] or query.get("secret") != [api.app_secret]
                    or query.get("grant_type") != ["client_credential"]):
                self.send_json({"errcode": 40125, "errmsg": "invalid appsecret"})
                return
            with api.lock:
                api.tokens += 1
                token = f"TOKEN-{api.tokens}"
                api.valid.add(token)
            self.send_json({"access_token": token, "expires_in": 7200})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: object = json.loads(raw.decode())
            except ValueError:
                body = raw
            path, query = self._record(body)
            token = (query.get("access_token") or [""])[0]
            with api.lock:
                ok = token in api.valid
                code = api.expired_code
            if not ok:
                self.send_json({"errcode": code, "errmsg": "access_token expired"})
                return
            if path == "/cgi-bin/message/custom/send":
                self.send_json({"errcode": 0, "errmsg": "ok"})
            elif path == "/cgi-bin/message/template/send":
                self.send_json({"errcode": 0, "errmsg": "ok", "msgid": 200228332})
            else:
                self.send_json({"errcode": 404, "errmsg": "not found"}, 404)

    return Handler


@contextmanager
def wechat_api(app_id: str, app_secret: str) -> Iterator[WechatApi]:
    port = free_port()
    api = WechatApi(f"http://127.0.0.1:{port}", app_id, app_secret)
    with serving(port, _handler(api)):
        yield api
