"""``hotline dev-setup``: .env and a development API key, both mode 600, both idempotent."""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

import pytest
from wechatpy.crypto import WeChatCrypto

from hotline import devsetup
from hotline.cli import main
from hotline.console_config import console_config
from hotline.settings import Settings
from tickets import apikeys
from tickets.db import Database


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    return tmp_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def env_values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#"))
    return dict(pairs)


def test_wechat_aes_key_is_43_base64_chars_of_32_bytes() -> None:
    key = devsetup.wechat_aes_key()
    assert len(key) == 43 and "=" not in key
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}", key)
    assert len(base64.b64decode(key + "=")) == 32


def test_env_secrets_are_fresh_per_run() -> None:
    first, second = devsetup.env_lines("http://x"), devsetup.env_lines("http://x")
    secrets_first = [line for line in first if "TOKEN" in line or "KEY" in line]
    assert secrets_first and not set(secrets_first) & set(second)


def test_dev_setup_writes_env_and_key_once(workdir: Path, capsys: pytest.CaptureFixture[str],
                                          ) -> None:
    assert main(["dev-setup"]) == 0
    env_file, key_file = workdir / ".env", workdir / "var" / "dev-api-key"
    assert mode(env_file) == 0o600 and mode(key_file) == 0o600
    values = env_values(env_file)
    assert values["HOTLINE_ENV"] == "development"
    assert values["HOTLINE_PUBLIC_URL"] == "http://127.0.0.1:8096"
    assert re.fullmatch(r"AC[0-9a-f]{32}", values["HOTLINE_TWILIO_ACCOUNT_SID"])
    for name in ("HOTLINE_TWILIO_AUTH_TOKEN", "HOTLINE_WECHAT_TOKEN", "HOTLINE_WEB_SECRET",
                 "HOTLINE_WECHAT_APP_ID"):
        assert len(values[name]) >= 16, name
    assert len(values["HOTLINE_CONSOLE_SECRET"]) >= 32
    out = capsys.readouterr().out
    assert "curl" in out and "/api/v1/intake" in out and "/api/v1/tickets?after=0" in out
    # how to open the console: add a person (password from a prompt), then /console/
    assert "hotline operator add alice --name 张三 --role operator" in out
    assert "http://127.0.0.1:8096/console/" in out

    # The settings read the new .env, and the real WeChat crypto accepts its key.
    settings = Settings()
    assert settings.env == "development"
    console = console_config(settings)  # the console is on, with the .env's secret
    assert console is not None and console.secret == values["HOTLINE_CONSOLE_SECRET"]
    assert settings.wechat_token is not None and settings.wechat_aes_key is not None
    assert settings.wechat_app_id is not None
    crypto = WeChatCrypto(settings.wechat_token.get_secret_value(),
                          settings.wechat_aes_key.get_secret_value(), settings.wechat_app_id)
    reply = "<xml><Content><![CDATA[您好]]></Content></xml>"
    sealed = crypto.encrypt_message(reply, "nonce", "1700000000")
    signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", sealed).group(1)  # type: ignore[union-attr]
    assert crypto.decrypt_message(sealed, signature, "1700000000", "nonce") == reply

    token = key_file.read_text().strip()
    db = Database(settings.resolved_database_url)
    key = apikeys.verify(db, token)
    assert key is not None and key.scopes == devsetup.DEV_KEY_SCOPES
    db.dispose()

    env_before = env_file.read_bytes()
    assert main(["dev-setup"]) == 0
    assert env_file.read_bytes() == env_before
    assert key_file.read_text().strip() == token
    assert "kept the existing" in capsys.readouterr().out


def test_dev_setup_replaces_a_key_the_database_no_longer_knows(workdir: Path) -> None:
    assert main(["dev-setup"]) == 0
    key_file = workdir / "var" / "dev-api-key"
    old = key_file.read_text()
    (workdir / "var" / "hotline.sqlite3").unlink()
    assert main(["dev-setup"]) == 0
    new = key_file.read_text().strip()
    assert new != old.strip() and mode(key_file) == 0o600
    db = Database(Settings().resolved_database_url)
    assert apikeys.verify(db, new) is not None
    db.dispose()


def test_write_private_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f"
    assert devsetup.write_private(path, "one")
    assert not devsetup.write_private(path, "two")
    assert path.read_text() == "one" and mode(path) == 0o600


def test_dev_setup_replaces_a_lost_key_file(workdir: Path) -> None:
    """The key file is gone but its key is still active in the database: the lost key is
    revoked and a new one written (development keys are unique by name among active keys)."""
    assert main(["dev-setup"]) == 0
    key_file = workdir / "var" / "dev-api-key"
    old = key_file.read_text().strip()
    key_file.unlink()
    assert main(["dev-setup"]) == 0
    new = key_file.read_text().strip()
    assert new != old and mode(key_file) == 0o600
    db = Database(Settings().resolved_database_url)
    try:
        assert apikeys.verify(db, new) is not None
        assert apikeys.verify(db, old) is None
        active = [k for k, _, revoked in apikeys.list_keys(db) if revoked is None]
        assert [k.name for k in active] == [devsetup.DEV_KEY_NAME]
    finally:
        db.dispose()


OLD_ENV = """# Local development settings, written before the console existed.
HOTLINE_ENV=development
HOTLINE_PUBLIC_URL=http://127.0.0.1:8096
HOTLINE_WEB_SECRET=kept-as-it-is
#HOTLINE_CONSOLE_SECRET=a-commented-out-line-is-no-setting"""


def test_dev_setup_adds_a_console_secret_to_an_older_env(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = workdir / ".env"
    env_file.write_text(OLD_ENV)  # no newline at the end, as an editor may leave it
    env_file.chmod(0o600)
    assert main(["dev-setup"]) == 0
    assert "added HOTLINE_CONSOLE_SECRET" in capsys.readouterr().out
    text = env_file.read_text()
    assert text.startswith(OLD_ENV + "\n")  # everything that was there, unchanged
    values = env_values(env_file)
    secret = values["HOTLINE_CONSOLE_SECRET"]
    assert len(secret) >= 32 and values["HOTLINE_WEB_SECRET"] == "kept-as-it-is"
    assert mode(env_file) == 0o600
    console = console_config(Settings())
    assert console is not None and console.secret == secret

    assert main(["dev-setup"]) == 0  # once only
    assert env_file.read_text() == text
    assert "added HOTLINE_CONSOLE_SECRET" not in capsys.readouterr().out


@pytest.mark.parametrize("line", ["HOTLINE_CONSOLE_SECRET=short-but-mine",
                                  "export HOTLINE_CONSOLE_SECRET=exported-and-mine",
                                  "HOTLINE_CONSOLE_SECRET="])
def test_a_console_secret_already_in_env_is_never_touched(tmp_path: Path, line: str) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"HOTLINE_ENV=development\n{line}\n")
    assert not devsetup.ensure_console_secret(env_file)
    assert env_file.read_text() == f"HOTLINE_ENV=development\n{line}\n"


def test_no_env_file_no_console_secret_written(tmp_path: Path) -> None:
    assert not devsetup.ensure_console_secret(tmp_path / ".env")
    assert not (tmp_path / ".env").exists()


def test_the_local_pbx_settings_are_added_once(tmp_path: Path) -> None:
    from hotline.devsetup import ensure_pbx_settings, names_in

    env = tmp_path / ".env"
    env.write_text("HOTLINE_ENV=development\nHOTLINE_AMI_USERNAME=mine\n")
    added = ensure_pbx_settings(env, 18088)
    assert added == ["HOTLINE_PBX", "HOTLINE_AMI_SECRET", "HOTLINE_CONSOLE_SIP_WS",
                     "HOTLINE_PHONE_PAGE"]
    text = env.read_text()
    assert "HOTLINE_AMI_USERNAME=mine" in text and "HOTLINE_AMI_USERNAME=hotline" not in text
    assert "HOTLINE_CONSOLE_SIP_WS=ws://127.0.0.1:18088/ws" in text
    secret = [line for line in text.splitlines() if line.startswith("HOTLINE_AMI_SECRET=")]
    assert len(secret[0]) > len("HOTLINE_AMI_SECRET=") + 24
    assert ensure_pbx_settings(env) == [] and names_in(env.read_text()) >= set(added)
