"""Settings → each channel's configuration: secrets unwrapped only here, unset secrets keep the
channel off, the WeChat mode follows HOTLINE_WECHAT_MODE (or the AES key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from channels.twilio_sms.config import TwilioConfig
from channels.wechat.config import Mode, WechatConfig
from hotline.channels_config import twilio_config, webform_config, wechat_config
from hotline.settings import Settings

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
TWILIO = "5e1f0a9c2b7d4e6f8a3c1b9d7e5f2a40"
WX_TOKEN = "wx7f3a9c1e5d2b8e4a6c0f1a"
WEB = "c0ffee5eed42b7a91d3e6f08a2c4e9b1"


def settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(_env_file=None, env="production", data_dir=tmp_path, **over)


def test_unset_secrets_leave_every_channel_off(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert twilio_config(s) == TwilioConfig(spool_dir=s.spool_path)
    assert wechat_config(s) == WechatConfig(spool_dir=s.spool_path)
    web = webform_config(s)
    assert web.csrf_secret is None
    assert web.media_dir == (tmp_path / "media").resolve()
    assert web.max_body_bytes == s.max_upload_bytes and web.photo_workers == s.photo_workers


def test_secrets_and_addresses_are_handed_over(tmp_path: Path) -> None:
    s = settings(tmp_path, twilio_account_sid="AC" + "0" * 32,
                 twilio_auth_token=TWILIO, wechat_token=WX_TOKEN,
                 wechat_app_id="wx5f1e2d3c4b5a6978", wechat_aes_key=AES_KEY,
                 wechat_max_clock_skew=120, web_secret=WEB,
                 public_url="https://hotline.example.org", photo_workers=3)
    assert twilio_config(s) == TwilioConfig(account_sid="AC" + "0" * 32,
                                            auth_token=TWILIO,
                                            public_url="https://hotline.example.org",
                                            spool_dir=s.spool_path)
    assert wechat_config(s) == WechatConfig(token=WX_TOKEN, app_id="wx5f1e2d3c4b5a6978",
                                            aes_key=AES_KEY, mode=None, max_clock_skew=120,
                                            spool_dir=s.spool_path)
    web = webform_config(s)
    assert web.csrf_secret == WEB and web.photo_workers == 3
    assert web.public_url == "https://hotline.example.org"


@pytest.mark.parametrize(("mode", "aes_key", "effective"), [
    (None, AES_KEY, Mode.safe),  # a key is set: safe unless told otherwise
    (None, None, Mode.plain),
    ("compatible", AES_KEY, Mode.compatible),
    ("plain", AES_KEY, Mode.plain),
    ("safe", AES_KEY, Mode.safe),
])
def test_wechat_mode(tmp_path: Path, mode: str | None, aes_key: str | None,
                     effective: Mode) -> None:
    s = settings(tmp_path, wechat_token=WX_TOKEN, wechat_mode=mode,
                 wechat_aes_key=aes_key)
    assert wechat_config(s).effective_mode is effective
