"""``hotline dev-setup``: a working local configuration with secrets generated per machine.

Writes ``./.env`` (mode 600) once, never overwriting it, and a development API key to
``<data dir>/dev-api-key`` (mode 600), re-created only when the file is missing or the key no
longer opens the database (e.g. after the database was deleted). An ``.env`` written before the
console existed gets a ``HOTLINE_CONSOLE_SECRET`` appended (:func:`ensure_console_secret`);
nothing already in the file is changed.
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from tickets import apikeys
from tickets.db import Database
from tickets.migrate import upgrade

DEV_KEY_FILE = "dev-api-key"
DEV_KEY_NAME = "development"
DEV_KEY_SCOPES = frozenset({apikeys.Scope.intake, apikeys.Scope.read, apikeys.Scope.events})
CONSOLE_SETTING = "HOTLINE_CONSOLE_SECRET"


def console_secret() -> str:
    """A fresh secret for the console's cookies and CSRF tokens (48 characters)."""
    return secrets.token_urlsafe(36)


def wechat_aes_key() -> str:
    """43 characters of the base64 alphabet, no '=': WeChat's EncodingAESKey (32 bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def env_lines(public_url: str) -> list[str]:
    """The lines of a development ``.env`` with fresh random secrets."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"# Local development settings, written by 'hotline dev-setup' on {stamp}.",
        "# The secrets are random and belong to this machine only. Not for production.",
        "HOTLINE_ENV=development",
        f"HOTLINE_PUBLIC_URL={public_url}",
        f"HOTLINE_TWILIO_ACCOUNT_SID=AC{secrets.token_hex(16)}",
        f"HOTLINE_TWILIO_AUTH_TOKEN={secrets.token_hex(16)}",
        f"HOTLINE_WECHAT_TOKEN={secrets.token_hex(16)}",
        f"HOTLINE_WECHAT_AES_KEY={wechat_aes_key()}",
        f"HOTLINE_WECHAT_APP_ID=wx{secrets.token_hex(8)}",
        f"HOTLINE_WEB_SECRET={secrets.token_urlsafe(32)}",
        "# the operators' console at /console (signs its session cookies and CSRF tokens)",
        f"{CONSOLE_SETTING}={console_secret()}",
    ]


def write_private(path: Path, text: str) -> bool:
    """Create ``path`` with mode 600 holding ``text``; False (untouched) if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def ensure_env_file(path: Path, public_url: str) -> bool:
    """Write a development ``.env`` at ``path`` unless one exists; True if written."""
    return write_private(path, "\n".join(env_lines(public_url)) + "\n")


def names_in(text: str) -> set[str]:
    """The setting names an ``.env`` text assigns (commented-out lines do not count)."""
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, _ = line.partition("=")
        if sep and not line.startswith("#"):
            names.add(name.strip())
    return names


def ensure_console_secret(path: Path) -> bool:
    """Append a fresh ``HOTLINE_CONSOLE_SECRET`` to the existing ``.env`` at ``path`` when it
    assigns none; True if appended. A value already there (even an empty one) is kept."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    if CONSOLE_SETTING in names_in(text):
        return False
    lead = "" if not text or text.endswith("\n") else "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{lead}# the operators' console at /console, added by 'hotline dev-setup'\n"
                f"{CONSOLE_SETTING}={console_secret()}\n")
    return True


def pbx_settings(http_port: int = 8088) -> dict[str, str]:
    """The local PBX's settings (hotline pbx, started by hotline run): on, the AMI account
    it and the console share (a fresh secret), the softphone's WebSocket on it."""
    return {"HOTLINE_PBX": "true", "HOTLINE_AMI_USERNAME": "hotline",
            "HOTLINE_AMI_SECRET": secrets.token_urlsafe(24),
            "HOTLINE_CONSOLE_SIP_WS": f"ws://127.0.0.1:{http_port}/ws",
            # /phone: a resident's phone in the browser, through this PBX
            "HOTLINE_PHONE_PAGE": "true"}


def ensure_pbx_settings(path: Path, http_port: int = 8088) -> list[str]:
    """Append to the ``.env`` at ``path`` the PBX settings it does not assign yet (a value
    already there, even an empty one, is kept); the names appended."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    have = names_in(text)
    missing = {k: v for k, v in pbx_settings(http_port).items() if k not in have}
    if not missing:
        return []
    lead = "" if not text or text.endswith("\n") else "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{lead}# the local PBX (hotline pbx, started by hotline run), added by "
                "'hotline dev-setup'\n")
        f.writelines(f"{k}={v}\n" for k, v in missing.items())
    return list(missing)


def ensure_dev_key(db: Database, path: Path) -> bool:
    """Make ``path`` hold a working development API key; True if a new key was created."""
    upgrade(db)
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if apikeys.verify(db, token) is not None:
            return False
        path.unlink()
    for key, _, revoked in apikeys.list_keys(db):
        if key.name == DEV_KEY_NAME and revoked is None:
            apikeys.revoke(db, key.id)  # its token is lost: the new key takes its name
    _, token = apikeys.create(db, DEV_KEY_NAME, DEV_KEY_SCOPES)
    write_private(path, token + "\n")
    return True


def usage(base_url: str, key_file: Path) -> str:
    """How to try the gateway with the development key (printed by ``dev-setup``)."""
    return f"""\
Try it (after 'hotline run' or 'make run'):

  TOKEN=$(cat {key_file})
  curl -s -X POST {base_url}/api/v1/intake \\
       -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"channel_ref": "demo-1", "text": "小区路灯坏了", "kind": "help"}}'
  curl -s "{base_url}/api/v1/tickets?after=0" -H "Authorization: Bearer $TOKEN"
  curl -s "{base_url}/api/v1/tickets?after=0&wait=30" -H "Authorization: Bearer $TOKEN"

The key has the scopes intake, read and events; more keys: hotline apikey create --scope ...
API documentation: {base_url}/docs

The operators' console ({base_url}/console/): add people first (each is asked for a
password), then log in with a browser:

  hotline operator add alice --name 张三 --role operator
  hotline operator add boss --name 李四 --role supervisor

Taking calls over needs Asterisk's manager (HOTLINE_AMI_USERNAME, HOTLINE_AMI_SECRET) and the
browser softphone HOTLINE_CONSOLE_SIP_WS: see docs/console.md and docs/softphone.md.
"""
