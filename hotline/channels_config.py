"""Settings → the configuration the channel routes receive."""

from __future__ import annotations

from channels.http import ChannelsConfig, TwilioConfig, WebformConfig, WechatConfig
from hotline.settings import Settings


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return None if get is None else str(get())


def channels_config(settings: Settings) -> ChannelsConfig:
    return ChannelsConfig(
        twilio=TwilioConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=_secret(settings.twilio_auth_token),
            public_url=settings.public_url,
        ),
        wechat=WechatConfig(
            token=_secret(settings.wechat_token),
            app_id=settings.wechat_app_id,
            aes_key=_secret(settings.wechat_aes_key),
            max_clock_skew=settings.wechat_max_clock_skew,
        ),
        web=WebformConfig(
            upload_dir=settings.media_path,
            csrf_secret=_secret(settings.web_secret),
            public_url=settings.public_url,
            max_body_bytes=settings.max_upload_bytes,
        ),
    )
