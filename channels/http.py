"""The HTTP routes of every text channel, assembled for the app factory.

Each channel package owns its config dataclass and a ``build_router(config, ...)`` function;
a channel whose secrets are not configured answers 503 with a JSON error naming the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str | None = None
    auth_token: str | None = None  # HOTLINE_TWILIO_AUTH_TOKEN; unset → channel disabled
    public_url: str | None = None  # HOTLINE_PUBLIC_URL: the URL Twilio signs


@dataclass(frozen=True)
class WechatConfig:
    token: str | None = None  # HOTLINE_WECHAT_TOKEN; unset → channel disabled
    app_id: str | None = None
    aes_key: str | None = None  # 43 chars; set → safe (AES) mode accepted
    max_clock_skew: int = 300  # seconds; older timestamps are refused


@dataclass(frozen=True)
class WebformConfig:
    upload_dir: Path = Path("./var/uploads")
    csrf_secret: str | None = None  # HOTLINE_WEB_SECRET; unset → /report answers 503
    max_photo_bytes: int = 8 * 1024 * 1024
    public_url: str | None = None
    max_body_bytes: int | None = None  # HOTLINE_MAX_UPLOAD_BYTES: the size limit of /report


@dataclass(frozen=True)
class ChannelsConfig:
    """What the channel routes need from settings (built by ``hotline.channels_config``)."""

    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    web: WebformConfig = field(default_factory=WebformConfig)


def build_router(config: ChannelsConfig) -> APIRouter:
    router = APIRouter()
    # Each channel package adds its routes here (twilio_sms, wechat, webform).
    from channels.webform import build_router as webform_router

    router.include_router(webform_router(config.web))
    from channels.twilio_sms.route import build_router as twilio_router
    from channels.wechat.route import build_router as wechat_router

    router.include_router(twilio_router(config.twilio))
    router.include_router(wechat_router(config.wechat))
    return router
