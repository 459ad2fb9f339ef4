"""One provider-shaped request per intake, signed as the provider signs it.

Each intake has a stable idempotency key that the provider would resend with every retry:
Twilio's ``MessageSid``, WeChat's ``MsgId``, the JSON API's ``channel_ref``, Open311's
``Idempotency-Key``; the web form's key is the submission id inside the CSRF token of the page
the resident loaded (a resent page carries it again). :func:`ref_tail` is how the audit finds
the key inside a ticket's ``channel_ref``.

Signing uses the providers' own libraries: twilio's :class:`RequestValidator` and wechatpy's
:class:`WeChatCrypto`. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

import defusedxml.ElementTree as SafeET
from twilio.request_validator import RequestValidator
from wechatpy.crypto import WeChatCrypto, _get_signature

from bench.chaos.secrets import PUBLIC_URL, Credentials

SMS_PATH = "/channels/twilio/sms"
WECHAT_PATH = "/channels/wechat"
WEB_PATH = "/report"
API_PATH = "/api/v1/intake"
OPEN311_PATH = "/open311/v2/requests.json"
DELAYED = "已收到，工单号稍后发送"  # channels.deadline.DELAYED: accepted, number sent later
NUMBER = re.compile(r"\d{10,16}")
SERVICE_NUMBER = "+861065529601"
ACCOUNT = "gh_96010chaos"
# each names a real place of the gazetteer, so the router places, classifies and dispatches
# it (deliveries go to the destination's webhook, which the harness counts)
TEXTS = (
    "簋街晚上好多小摊把便道全占了，走路都得下马路。",
    "王府井步行街入口堆了好几百辆共享单车，过不去人。",
    "雍和宫大街东边便道砖全翘了，老人差点崴脚。",
    "东直门桥往里簋街东头那个十字路口，红绿灯晚上不亮。",
    "南锣鼓巷北口天天晚上有人推车卖烤红薯，占道还挡路。",
)
PLACES = ("簋街", "王府井步行街", "雍和宫大街", "簋街东口", "南锣鼓巷北口")


class Kind(StrEnum):
    sms = "sms"
    wechat = "wechat"
    web = "web"
    api = "api"
    open311 = "open311"


ALL = tuple(Kind)
# the ticket's channel for each way in (Open311 requests are api tickets)
TICKET_CHANNEL = {Kind.sms: "sms", Kind.wechat: "wechat", Kind.web: "web", Kind.api: "api",
                  Kind.open311: "api"}


@dataclass(frozen=True)
class Intake:
    """The ``index``-th intake of a run: which channel, whose, which key."""

    index: int
    kind: Kind
    run: str  # 8 hex digits: the run's tag, so two runs' keys never meet

    @property
    def key(self) -> str:
        """The idempotency key (the web form's comes from the page: see :func:`web_key`)."""
        if self.kind is Kind.sms:
            return f"SM{self.run}{self.index:024d}"
        if self.kind is Kind.wechat:
            return str(int(self.run, 16) * 10**9 + self.index)
        return f"chaos-{self.run}-{self.index}"

    @property
    def text(self) -> str:
        return f"{TEXTS[self.index % len(TEXTS)]}（{self.index}）"

    @property
    def phone(self) -> str:
        return f"+86139{self.index:08d}"

    @property
    def openid(self) -> str:
        return f"oChaos{self.run}{self.index:010d}"


def plan(count: int, run: str, start: int = 0) -> list[Intake]:
    """``count`` intakes taking the channels in turn."""
    return [Intake(i, ALL[i % len(ALL)], run) for i in range(start, start + count)]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def sms(creds: Credentials, intake: Intake) -> Request:
    form = {"MessageSid": intake.key, "SmsSid": intake.key, "AccountSid": creds.twilio_sid,
            "From": intake.phone, "To": SERVICE_NUMBER, "Body": intake.text, "NumMedia": "0",
            "NumSegments": "1", "ApiVersion": "2010-04-01"}
    validator = RequestValidator(creds.twilio_token)
    signature = validator.compute_signature(PUBLIC_URL + SMS_PATH, form)
    return Request("POST", SMS_PATH, {"X-Twilio-Signature": signature,
                                      "Content-Type": "application/x-www-form-urlencoded"},
                   urlencode(form).encode())


def wechat_xml(intake: Intake, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{intake.openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{intake.text}]]></Content><MsgId>{intake.key}</MsgId></xml>")


def wechat(creds: Credentials, intake: Intake, create_time: int) -> Request:
    """A safe-mode push. WeChat resends the same message (same MsgId and CreateTime) with a
    fresh timestamp and nonce, so each attempt is built anew."""
    now, nonce = str(int(time.time())), secrets.token_hex(5)
    crypto = WeChatCrypto(creds.wechat_token, creds.wechat_aes_key, creds.wechat_app_id)
    sealed = SafeET.fromstring(crypto.encrypt_message(wechat_xml(intake, create_time), nonce,
                                                      now).encode())
    encrypted = sealed.findtext("Encrypt") or ""
    query = {"signature": _get_signature(creds.wechat_token, now, nonce, ""), "timestamp": now,
             "nonce": nonce, "openid": intake.openid, "encrypt_type": "aes",
             "msg_signature": sealed.findtext("MsgSignature") or ""}
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return Request("POST", f"{WECHAT_PATH}?{urlencode(query)}",
                   {"Content-Type": "text/xml; charset=utf-8"}, body.encode())


def wechat_reply(creds: Credentials, body: bytes) -> str:
    """The text of the gateway's passive reply (decrypted); "" when it is not one."""
    try:
        root = SafeET.fromstring(body)
        if root.find("Encrypt") is None:
            return root.findtext("Content") or ""
        crypto = WeChatCrypto(creds.wechat_token, creds.wechat_aes_key, creds.wechat_app_id)
        xml = crypto.decrypt_message(body.decode(), root.findtext("MsgSignature") or "",
                                     root.findtext("TimeStamp") or "", root.findtext("Nonce") or "")
        return SafeET.fromstring(xml.encode()).findtext("Content") or ""
    except Exception:
        return ""


CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def web_token(page: str) -> str | None:
    """The CSRF token of the form page (``<submission id>.<issued>.<signature>``)."""
    found = CSRF_INPUT.search(page)
    return found.group(1) if found else None


def web_key(token: str) -> str:
    return token.split(".", 1)[0]


def web(intake: Intake, token: str, cookie: str) -> Request:
    boundary = "chaos" + secrets.token_hex(8)
    fields = {"csrf": token, "kind": "help", "description": intake.text,
              "address": PLACES[intake.index % len(PLACES)]}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return Request("POST", WEB_PATH, {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": f"hotline_csrf={cookie}"}, body)


def api(creds: Credentials, intake: Intake) -> Request:
    doc = {"channel_ref": intake.key, "text": intake.text, "kind": "report",
           "citizen": {"phone": intake.phone}}
    return Request("POST", API_PATH, {"Authorization": f"Bearer {creds.api_token}",
                                      "Content-Type": "application/json"},
                   json.dumps(doc, ensure_ascii=False).encode())


def open311(creds: Credentials, intake: Intake) -> Request:
    form = {"api_key": creds.api_token, "service_code": "unclassified",
            "address_string": PLACES[intake.index % len(PLACES)], "description": intake.text,
            "device_id": "chaos-device"}
    return Request("POST", OPEN311_PATH, {"Idempotency-Key": intake.key,
                                          "Content-Type": "application/x-www-form-urlencoded"},
                   urlencode(form).encode())


def acknowledged(kind: Kind, status: int, text: str) -> str | None:
    """The ticket number (or ``"later"`` for the spooled answer) an answer acknowledges;
    None when the answer acknowledges nothing."""
    if not 200 <= status < 300:
        return None
    if kind is Kind.open311:
        try:
            rows = json.loads(text)
            number = rows[0].get("service_request_id") if isinstance(rows, list) else None
        except (ValueError, IndexError, AttributeError):
            return None
        return str(number) if number else None
    if kind is Kind.api:
        try:
            number = json.loads(text).get("number")
        except (ValueError, AttributeError):
            return None
        return str(number) if number else None
    if DELAYED in text:
        return "later"
    if kind is Kind.web and 'id="ticket-number"' not in text:
        return None  # the form shown again (a refused token) is no acknowledgement
    found = NUMBER.search(text)
    return found.group(0) if found else None


def ref_tail(channel_ref: str) -> str:
    """The part of a ticket's ``channel_ref`` that is the client's key: the API prefixes it
    with ``<key id>:`` and Open311 with ``open311:<key id>:<device>:``."""
    return channel_ref.rsplit(":", 1)[-1]
