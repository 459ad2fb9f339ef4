"""Settings: secrets without defaults, placeholders refused outside development, .env read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hotline.settings import PLACEHOLDER_SECRETS, Settings

SECRET_FIELDS = sorted(
    name for name, field in Settings.model_fields.items()
    if "SecretStr" in str(field.annotation)
)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No HOTLINE_* from the machine and no .env: only what the test gives."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    return tmp_path


def test_the_secret_fields_are_the_ones_we_expect() -> None:
    assert {"twilio_auth_token", "wechat_token", "wechat_aes_key", "web_secret",
            "ami_secret"} <= set(SECRET_FIELDS)


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_secrets_have_no_default(name: str) -> None:
    assert Settings.model_fields[name].default is None
    assert getattr(Settings(), name) is None  # unset means the channel is off, not "changeme"


@pytest.mark.parametrize("name", SECRET_FIELDS)
@pytest.mark.parametrize("placeholder", [*sorted(PLACEHOLDER_SECRETS), "ChangeMe"])
def test_placeholder_secrets_are_refused_outside_development(
    name: str, placeholder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"HOTLINE_{name.upper()}", placeholder)
    with pytest.raises(ValidationError, match=f"HOTLINE_{name.upper()} is a placeholder"):
        Settings()
    monkeypatch.setenv("HOTLINE_ENV", "development")
    value = getattr(Settings(), name)
    assert isinstance(value, SecretStr) and value.get_secret_value() == placeholder


def test_a_real_secret_is_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    real = "f3a9c1d27b4e8a6c0d5e7b9a"
    monkeypatch.setenv("HOTLINE_WECHAT_TOKEN", real)
    settings = Settings()
    assert settings.env == "production"
    assert settings.wechat_token is not None
    assert settings.wechat_token.get_secret_value() == real
    assert real not in repr(settings)


def test_env_file_is_read_and_the_environment_wins(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("HOTLINE_ENV=development\nHOTLINE_HTTP_PORT=9001\n"
                                    "HOTLINE_WECHAT_TOKEN=changeme\n")
    settings = Settings()
    assert settings.env == "development" and settings.http_port == 9001
    monkeypatch.setenv("HOTLINE_HTTP_PORT", "9002")
    assert Settings().http_port == 9002
    monkeypatch.setenv("HOTLINE_ENV", "production")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


def test_private_redis_lives_in_its_own_folder_under_the_data_dir(clean_env: Path) -> None:
    settings = Settings(data_dir=clean_env / "data")
    assert settings.redis_url is None
    assert settings.redis_socket == (clean_env / "data" / "redis" / "redis.sock").resolve()
    assert settings.resolved_redis_url == f"unix://{settings.redis_socket}"
    assert Settings(redis_url="redis://r:6379/0").resolved_redis_url == "redis://r:6379/0"


def test_rate_limits_are_checked_when_the_settings_are_read() -> None:
    settings = Settings(rate_limit_sender="5/second;100/day", rate_limit_web="")
    assert settings.rate_limit_sender == "5/second;100/day"
    assert settings.rate_limit_web == ""  # no limit
    assert settings.rate_limits is True and settings.rate_limit_api == "1200/minute"
    for bad in ("nonsense", "10/fortnight", "ten/minute"):
        with pytest.raises(ValidationError, match="rate_limit_sender"):
            Settings(rate_limit_sender=bad)


def test_log_format_and_level(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_format == "text" and Settings().log_level == "INFO"
    monkeypatch.setenv("HOTLINE_LOG_FORMAT", "json")
    monkeypatch.setenv("HOTLINE_LOG_LEVEL", "debug")
    settings = Settings()
    assert settings.log_format == "json" and settings.log_level == "DEBUG"
    monkeypatch.setenv("HOTLINE_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()


def test_the_time_zone_is_checked_when_the_settings_are_read() -> None:
    assert Settings().timezone == "Asia/Shanghai"
    assert Settings(timezone="UTC").timezone == "UTC"
    for bad in ("Mars/Base", "", "../etc/passwd"):
        with pytest.raises(ValidationError, match="is not a time zone"):
            Settings(timezone=bad)


def test_the_database_url_is_checked_without_repeating_it() -> None:
    assert Settings().database_url is None
    assert Settings(database_url="  ").database_url is None
    for good in ("sqlite:////srv/hotline.sqlite3", "postgresql://u:pw@db/hotline",
                 "postgres://u:pw@db/hotline", "postgresql+psycopg://u:pw@db:5432/hotline"):
        assert Settings(database_url=good).database_url == good
    for bad in ("foo://x", "not a url", "mysql://u:s3cretpw@db/hotline",
                "postgresql+asyncpg://u:s3cretpw@db/hotline"):
        with pytest.raises(ValidationError, match="database_url") as caught:
            Settings(database_url=bad)
        assert "s3cretpw" not in str(caught.value.errors()[0]["msg"])


STRONG = {
    "console_secret": "9f1c2a7e4b8d03f65a1e9c7b2d4f8a06e3b5c7d9f1a2b4c6",
    "web_secret": "4e7a1c9f2b5d8e0a3c6f9b2e5d8a1c4f",
    "twilio_auth_token": "5e1f0a9c2b7d4e6f8a3c1b9d7e5f2a40",
    "wechat_token": "Qm7tR2vK9xLp4sWz8dN3fH6j",
    "wechat_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "ami_secret": "b7e2c9f41a6d3e80",
}


@pytest.mark.parametrize(("name", "weak", "why"), [
    ("console_secret", "a" * 32, "too easy to guess"),
    ("console_secret", "0123456789abcdef" * 2, "too easy to guess"),
    ("console_secret", "passwordpasswordpasswordpassword", "too easy to guess"),
    ("web_secret", "x", "too short"),
    ("web_secret", "c0ffee-5eed-42", "too short"),
    ("twilio_auth_token", "5e1f0", "too short"),
    ("twilio_auth_token", "ab" * 16, "too easy to guess"),
    ("wechat_token", "abc", "too short"),
    ("wechat_token", "f3a9c1d27b4e8a6c", "too short"),
    ("wechat_token", "wechattokenwechattoken2026", "too easy to guess"),
    ("wechat_token", "wx-7f3a9c1e-5d2b8e4a6c0f1a", "letters and digits"),
    ("wechat_aes_key", "k" * 43, "too easy to guess"),
    ("wechat_aes_key", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1a", "too short"),
    ("ami_secret", "1234567812345678", "too easy to guess"),
])
def test_weak_secrets_are_refused_in_production_in_one_line_naming_the_setting(
        name: str, weak: str, why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"HOTLINE_{name.upper()}", weak)
    with pytest.raises(ValidationError) as caught:
        Settings()
    [error] = caught.value.errors()
    message = str(error["msg"])
    assert f"HOTLINE_{name.upper()} " in message and why in message and "\n" not in message
    assert len(weak) < 4 or weak not in message  # the secret itself is never echoed
    monkeypatch.setenv("HOTLINE_ENV", "development")
    assert getattr(Settings(), name) is not None


@pytest.mark.parametrize("name", sorted(STRONG))
def test_strong_secrets_pass_in_production(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"HOTLINE_{name.upper()}", STRONG[name])
    assert getattr(Settings(), name).get_secret_value() == STRONG[name]


def test_weak_webhook_secrets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = '{"street:DS": {"url": "https://ds.example.org/in", "secret": "%s"}}'
    monkeypatch.setenv("HOTLINE_WEBHOOKS", hook % ("0123456789" * 4))
    with pytest.raises(ValidationError, match="HOTLINE_WEBHOOKS: the secret of street:DS is "
                                              "too easy to guess"):
        Settings()
    monkeypatch.setenv("HOTLINE_WEBHOOKS", hook % STRONG["web_secret"])
    assert Settings().webhooks["street:DS"].secret.get_secret_value() == STRONG["web_secret"]


def test_sentinels_give_every_process_one_sentinel_url(clean_env: Path) -> None:
    settings = Settings(redis_sentinels="10.0.0.1:26379,10.0.0.2:26379",
                        redis_sentinel_service="hotline", redis_password="pw")
    assert settings.external_redis
    assert settings.resolved_redis_url == "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/hotline"
    assert not Settings(data_dir=clean_env).external_redis


@pytest.mark.parametrize(("given", "fix"), [
    ({"redis_sentinels": "h:1"}, "HOTLINE_REDIS_SENTINEL_SERVICE"),
    ({"redis_sentinel_service": "hotline"}, "HOTLINE_REDIS_SENTINELS"),
    ({"redis_sentinels": "h:1", "redis_sentinel_service": "s", "redis_url": "redis://r/0"},
     "unset HOTLINE_REDIS_URL"),
    ({"redis_sentinels": "h", "redis_sentinel_service": "s"}, "10.0.0.1:26379"),
])
def test_incomplete_sentinel_settings_name_the_fix(given: dict[str, str], fix: str) -> None:
    with pytest.raises(ValidationError, match=fix):
        Settings(**given)  # type: ignore[arg-type]
