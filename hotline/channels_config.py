"""Settings → the configuration each channel's routes and jobs receive."""

from __future__ import annotations

from pydantic import SecretStr

from channels.twilio_sms.config import TwilioConfig
from channels.webform.config import WebformConfig
from channels.wechat.config import Mode, WechatConfig
from hotline.settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def twilio_config(settings: Settings) -> TwilioConfig:
    return TwilioConfig(account_sid=settings.twilio_account_sid,
                        auth_token=_secret(settings.twilio_auth_token),
                        public_url=settings.public_url)


def wechat_config(settings: Settings) -> WechatConfig:
    return WechatConfig(token=_secret(settings.wechat_token), app_id=settings.wechat_app_id,
                        aes_key=_secret(settings.wechat_aes_key),
                        mode=Mode(settings.wechat_mode) if settings.wechat_mode else None,
                        max_clock_skew=settings.wechat_max_clock_skew)


def webform_config(settings: Settings) -> WebformConfig:
    return WebformConfig(media_dir=settings.media_path, csrf_secret=_secret(settings.web_secret),
                         public_url=settings.public_url,
                         max_body_bytes=settings.max_upload_bytes,
                         photo_workers=settings.photo_workers)
