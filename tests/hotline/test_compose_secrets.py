"""``docker-compose config`` names every secret the deployment needs in its one message, and
``hotline dev-setup --compose`` (a real process) fills them all: afterwards Debian's
docker-compose accepts the file, the gateway's settings file loads in production, and a second
run changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.compose_secrets import COMPOSE_SECRETS, settings_text, values_in
from hotline.settings import Settings
from tests.hotline.gateway import REPO, base_env, hotline

COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")


def project(tmp_path: Path) -> Path:
    """A deployment folder: the repository's compose file and its build contexts' folders."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    shutil.copy(REPO / "docker-compose.yml", folder / "docker-compose.yml")
    (folder / "asterisk-conf").mkdir()
    return folder


def compose_config(folder: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("HOTLINE_", "POSTGRES_", "ASTERISK_", "COMPOSE_"))}
    assert COMPOSE is not None
    return subprocess.run([COMPOSE, "config", "-q"], env=clean, cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)


def dev_setup_compose(folder: Path) -> subprocess.CompletedProcess[str]:
    env = base_env(folder)
    return subprocess.run(hotline("dev-setup", "--compose"), env=env, cwd=folder,
                          capture_output=True, text=True, timeout=120, check=True)


@needs_compose
def test_one_message_names_every_secret_then_dev_setup_fills_them_all(tmp_path: Path) -> None:
    folder = project(tmp_path)
    refused = compose_config(folder)
    assert refused.returncode != 0
    message = refused.stderr.strip().splitlines()[-1]
    for name in COMPOSE_SECRETS:
        assert name in message, message
    assert "hotline dev-setup --compose" in message

    first = dev_setup_compose(folder)
    assert f"added {', '.join(COMPOSE_SECRETS)} to {folder / '.env'}" in first.stdout
    assert "wrote" in first.stdout and "hotline.env" in first.stdout
    for name in (".env", "hotline.env"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name

    accepted = compose_config(folder)
    assert accepted.returncode == 0, accepted.stderr

    env_values = values_in((folder / ".env").read_text())
    assert set(COMPOSE_SECRETS) <= set(env_values)
    assert len({env_values[n] for n in COMPOSE_SECRETS}) == 3  # three different secrets
    settings = Settings(_env_file=str(folder / "hotline.env"))  # production: strong secrets
    assert settings.env == "production"
    assert settings.ami_secret is not None
    assert settings.ami_secret.get_secret_value() == env_values["ASTERISK_AMI_SECRET"]
    assert settings.console_secret is not None and settings.web_secret is not None

    before = {n: (folder / n).read_text() for n in (".env", "hotline.env")}
    again = dev_setup_compose(folder)
    assert "kept POSTGRES_PASSWORD, ASTERISK_AMI_SECRET, ASTERISK_ARI_PASSWORD" in again.stdout
    assert before == {n: (folder / n).read_text() for n in (".env", "hotline.env")}


def test_values_already_there_are_kept(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / ".env").write_text("HOTLINE_ENV=development\nPOSTGRES_PASSWORD=mine-4e2f9c7a\n"
                                 "ASTERISK_ARI_PASSWORD=\n")
    done = dev_setup_compose(folder)
    assert "added ASTERISK_AMI_SECRET, ASTERISK_ARI_PASSWORD" in done.stdout
    assert "kept POSTGRES_PASSWORD" in done.stdout
    values = values_in((folder / ".env").read_text())
    assert values["POSTGRES_PASSWORD"] == "mine-4e2f9c7a"
    assert values["HOTLINE_ENV"] == "development"
    assert values["ASTERISK_ARI_PASSWORD"]


def test_settings_text_sets_only_the_named_lines() -> None:
    example = "# c\n#HOTLINE_WEB_SECRET=\nHOTLINE_TIMEZONE=Asia/Shanghai\n#HOTLINE_WEB_SECRETS=x\n"
    assert settings_text(example, {"HOTLINE_WEB_SECRET": "s"}) == (
        "# c\nHOTLINE_WEB_SECRET=s\nHOTLINE_TIMEZONE=Asia/Shanghai\n#HOTLINE_WEB_SECRETS=x\n")
