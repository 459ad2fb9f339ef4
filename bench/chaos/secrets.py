"""The run's credentials: random, strong (the gateway runs with ``HOTLINE_ENV=production``,
which refuses weak or placeholder secrets), shared by the harness and the driver process."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import asdict, dataclass

PUBLIC_URL = "https://chaos.hotline.example.cn"


@dataclass(frozen=True)
class Credentials:
    twilio_sid: str
    twilio_token: str
    wechat_token: str
    wechat_app_id: str
    wechat_aes_key: str
    wechat_app_secret: str
    web_secret: str
    webhook_secret: str
    api_token: str = ""  # filled once the gateway's database exists (hotline apikey create)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def fresh() -> Credentials:
    return Credentials(
        twilio_sid="AC" + secrets.token_hex(16),
        twilio_token=secrets.token_hex(16),
        wechat_token=secrets.token_hex(16),  # letters and digits only (WeChat)
        wechat_app_id="wx" + secrets.token_hex(8),
        wechat_aes_key=base64.b64encode(os.urandom(32)).decode().rstrip("="),
        wechat_app_secret=secrets.token_hex(16),
        web_secret=secrets.token_urlsafe(48),
        webhook_secret=secrets.token_urlsafe(32),
    )
