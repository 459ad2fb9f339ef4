"""Messages to WeChat followers through the official account's API, with ``wechatpy``'s client.

Inside 48 hours of the follower's last message WeChat accepts a customer-service message
(客服消息, any text); after that only a template message (模板消息) with a template the account
chose — one template id per step in ``HOTLINE_WECHAT_TEMPLATES`` (``{"resolved": "…", …}``),
filled as ``first`` (the message's first line), ``keyword1`` (the ticket number), ``keyword2``
(the step) and ``remark`` (the rest). The API's base URL is ``HOTLINE_WECHAT_API_URL`` (WeChat's
by default; the tests point it at a local server speaking its protocol). The access token is
cached in Redis (shared by every worker) and fetched again when WeChat answers 40001 / 42001
(wechatpy's retry). When the follower last wrote is kept in ``channel_state`` by the inbound
side (:func:`channels.wechat.state`, key ``last_in``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from redis import Redis
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from channels.twilio_sms.notify import SendFailed
from channels.wechat import state
from tickets import rediskeys
from tickets.db import Database

DEFAULT_API_URL = "https://api.weixin.qq.com"
WINDOW = timedelta(hours=48)
TIMEOUT = 15.0


@dataclass(frozen=True)
class WechatSenderConfig:
    app_id: str
    app_secret: str
    api_url: str = DEFAULT_API_URL  # HOTLINE_WECHAT_API_URL
    templates: Mapping[str, str] = field(default_factory=dict)  # step → template id
    timeout: float = TIMEOUT


class GatewayWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with its base URL (API and token endpoint) taken from the settings."""

    def __init__(self, config: WechatSenderConfig, redis: Redis) -> None:
        storage = RedisStorage(redis, prefix=rediskeys.WECHAT_TOKEN.rstrip(":"))
        super().__init__(config.app_id, config.app_secret, session=storage,
                         timeout=config.timeout, auto_retry=True)
        self.api_url = config.api_url.rstrip("/")
        self.API_BASE_URL = f"{self.api_url}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{self.api_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret})


def last_in(db: Database, openid: str) -> datetime | None:
    raw = state.load(db, openid).get("last_in")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


class WechatSender:
    def __init__(self, config: WechatSenderConfig, redis: Redis, db: Database) -> None:
        self.config = config
        self.client = GatewayWeChatClient(config, redis)
        self.db = db

    def send(self, to: str, body: str, notification_id: int, *, step: str = "",
             number: str = "", now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        seen = last_in(self.db, to)
        try:
            if seen is not None and now - seen <= WINDOW:
                self.client.message.send_text(to, body)
                return f"wechat-cs:{notification_id}"
            template = self.config.templates.get(step)
            if not template:
                raise SendFailed(f"the follower last wrote more than 48 h ago and "
                                 f"HOTLINE_WECHAT_TEMPLATES has no template for '{step}'",
                                 certain=True, retryable=False)
            first, _, rest = body.partition("\n")
            data = {"first": {"value": first}, "keyword1": {"value": number},
                    "keyword2": {"value": step}, "remark": {"value": rest}}
            result = self.client.message.send_template(to, template, data)
            return f"wechat-tpl:{result.get('msgid', notification_id)}"
        except WeChatClientException as exc:
            raise SendFailed(f"WeChat answered errcode {exc.errcode}: {exc.errmsg}",
                             certain=True, retryable=True,
                             code=int(exc.errcode) if exc.errcode else None) from None
        except requests.ConnectionError as exc:
            raise SendFailed(f"WeChat unreachable: {type(exc).__name__}", certain=False,
                             retryable=True) from None
        except requests.Timeout:
            raise SendFailed("WeChat did not answer in time", certain=False,
                             retryable=True) from None
