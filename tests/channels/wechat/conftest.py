"""An app with the WeChat channel configured (safe mode available), over the real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from channels.wechat.config import WechatConfig
from hotline.app import create_app
from hotline.settings import Settings
from tickets.store import Store

TOKEN = "wx-token-7f3a9c"
APP_ID = "wx5f1e2d3c4b5a6978"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@pytest.fixture
def plain_config() -> WechatConfig:
    return WechatConfig(token=TOKEN)


@pytest.fixture
def safe_config() -> WechatConfig:
    return WechatConfig(token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)


def settings(tmp_path: Path, **over: object) -> Settings:
    """An account with an AES key in compatible mode (plaintext and encrypted pushes both
    accepted, as while switching over), so one app serves both kinds of test request; the mode
    tests set ``wechat_mode`` themselves (``None``: the default, safe with a key)."""
    values: dict[str, object] = {
        "env": "development", "data_dir": tmp_path, "wechat_token": TOKEN,
        "wechat_app_id": APP_ID, "wechat_aes_key": AES_KEY, "wechat_mode": "compatible",
        **over,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    with TestClient(app) as c:
        yield c
