"""The console's settings: off without a secret, placeholders and short secrets refused in
production, the softphone's WebSocket URL checked (it goes into the CSP), the operators' file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hotline.console_config import console_config
from hotline.settings import Settings

GOOD = "9c41e07bd2a85f36e1c07a94bd3f2e58"


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)


def test_no_secret_no_console(tmp_path: Path) -> None:
    assert console_config(settings(tmp_path)) is None


def test_the_console_config(tmp_path: Path) -> None:
    config = console_config(settings(tmp_path, console_secret=GOOD,
                                      console_sip_ws="wss://console.example/ws",
                                      console_idle_minutes=30, console_session_hours=9))
    assert config is not None
    assert config.secret == GOOD and config.sip_ws == "wss://console.example/ws"
    assert config.idle == timedelta(minutes=30) and config.lifetime == timedelta(hours=9)


@pytest.mark.parametrize(("secret", "why"), [("changeme", "is a placeholder"),
                                             ("Secret", "is a placeholder"),
                                             ("x" * 31, "is too short"),
                                             ("x" * 32, "is too easy to guess")])
def test_weak_secrets_are_refused_in_production(tmp_path: Path, secret: str, why: str) -> None:
    with pytest.raises(ValidationError, match=f"HOTLINE_CONSOLE_SECRET {why}"):
        settings(tmp_path, console_secret=secret)
    assert settings(tmp_path, console_secret=secret, env="development").console_secret


@pytest.mark.parametrize("url", ["https://console.example/ws", "wss://", "ws ://x",
                                 "wss://x.example/ws; script-src *", "wss://x.example/'a'",
                                 "wss://x.example/a,b"])
def test_bad_websocket_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError, match="WebSocket URL"):
        settings(tmp_path, console_sip_ws=url)


def test_websocket_urls(tmp_path: Path) -> None:
    assert settings(tmp_path, console_sip_ws=" ws://10.0.0.5:8088/ws ").console_sip_ws == \
        "ws://10.0.0.5:8088/ws"
    assert settings(tmp_path, console_sip_ws="").console_sip_ws is None


def test_the_operators_file(tmp_path: Path) -> None:
    assert settings(tmp_path).pjsip_operators_path == \
        (tmp_path / "asterisk" / "pjsip-operators.conf").resolve()
    assert settings(tmp_path, pjsip_operators=tmp_path / "x.conf").pjsip_operators_path == \
        (tmp_path / "x.conf").resolve()


def test_the_softphone_domain_setting(tmp_path: Path) -> None:
    config = console_config(settings(tmp_path, console_secret=GOOD,
                                      console_sip_domain="pbx.console.example"))
    assert config is not None and config.sip_domain == "pbx.console.example"
    default = console_config(settings(tmp_path, console_secret=GOOD))
    assert default is not None and default.sip_domain == "hotline-96010.invalid"


def test_an_all_digit_softphone_domain_is_refused_naming_the_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.context import settings_or_error
    from hotline.errors import CliError

    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_CONSOLE_SIP_DOMAIN", "96010")
    with pytest.raises(CliError, match=r"HOTLINE_CONSOLE_SIP_DOMAIN: .*'96010' is neither"):
        settings_or_error(_env_file=None)
