"""An app with the Twilio channel configured, over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from channels.twilio_sms.config import TwilioConfig
from hotline.app import create_app
from hotline.settings import Settings
from tickets.store import Store

PUBLIC_URL = "https://hotline.example.gov.cn"
AUTH_TOKEN = "f3e4d5c6b7a8f3e4d5c6b7a8f3e4d5c6"
ACCOUNT_SID = "AC" + "1" * 32


@pytest.fixture
def twilio_config() -> TwilioConfig:
    return TwilioConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL)


def settings(tmp_path: Path, **over: object) -> Settings:
    values: dict[str, object] = {
        "env": "development", "data_dir": tmp_path, "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, **over,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    with TestClient(app) as c:
        yield c
