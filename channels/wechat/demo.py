"""A correctly signed sample push (encrypted when an AES key is configured), for
``hotline demo`` and the tests."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, SubElement, tostring

from channels.wechat import envelope, signature
from channels.wechat.config import WechatConfig
from channels.wechat.route import PATH
from channels.wechat.xmlsafe import parse_fields

ACCOUNT = "gh_96010demo"


def _xml(**fields: str) -> str:
    root = Element("xml")
    for name, value in fields.items():
        SubElement(root, name).text = value
    return tostring(root, encoding="unicode")


def sample_xml(text: str, openid: str, msg_id: int, create_time: int) -> str:
    """The plaintext push of a text message."""
    return _xml(ToUserName=ACCOUNT, FromUserName=openid, CreateTime=str(create_time),
                MsgType="text", Content=text, MsgId=str(msg_id))


def sample_request(config: WechatConfig, text: str, openid: str,
                   msg_id: int) -> tuple[str, dict[str, str], bytes]:
    """(path with query string, headers, body) of a push signed with ``config``."""
    return signed_push(config, lambda now: sample_xml(text, openid, msg_id, now), openid)


def event_xml(openid: str, create_time: int, event: str, **fields: str) -> str:
    """The plaintext push of an event (``CLICK`` with ``EventKey``, ``LOCATION`` with
    ``Latitude``/``Longitude``/``Precision``, …)."""
    return _xml(ToUserName=ACCOUNT, FromUserName=openid, CreateTime=str(create_time),
                MsgType="event", Event=event, **fields)


def signed_push(config: WechatConfig, plain: Callable[[int], str],
                openid: str) -> tuple[str, dict[str, str], bytes]:
    """(path with query string, headers, body) of the push ``plain(now)``, signed with
    ``config`` (sealed in safe mode when it has an AES key)."""
    if not config.token:
        raise ValueError("a signed sample needs HOTLINE_WECHAT_TOKEN")
    now = str(int(time.time()))
    nonce = secrets.token_hex(5)
    xml = plain(int(now))
    query = {"signature": signature.digest(config.token, now, nonce), "timestamp": now,
             "nonce": nonce, "openid": openid}
    if config.aes_key and config.app_id:
        mode = envelope.SafeMode(config.token, config.aes_key, config.app_id)
        sealed = envelope.seal(mode, xml, now, nonce)
        encrypted = parse_fields(sealed.encode())["Encrypt"]
        body = _xml(ToUserName=ACCOUNT, Encrypt=encrypted)
        query.update(encrypt_type="aes",
                     msg_signature=signature.digest(config.token, now, nonce, encrypted))
        xml = body
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    return f"{PATH}?{urlencode(query)}", headers, xml.encode("utf-8")
