"""``hotline dev-setup --compose``: every secret ``docker-compose.yml`` needs, generated once.

``docker-compose`` interpolates ``POSTGRES_PASSWORD``, ``ASTERISK_AMI_SECRET`` and
``ASTERISK_ARI_PASSWORD`` from the shell or ``./.env``; the gateway containers read their
settings from ``./hotline.env``. This fills what is missing and keeps every value already
there: the three secrets are appended to ``./.env``, and ``hotline.env`` is written from
``hotline.env.example`` with the web form's, the console's and the AMI secrets set (the AMI one
the same as ``ASTERISK_AMI_SECRET``), mode 600. Nothing is ever overwritten.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

COMPOSE_SECRETS = ("POSTGRES_PASSWORD", "ASTERISK_AMI_SECRET", "ASTERISK_ARI_PASSWORD")
EXAMPLE = Path(__file__).resolve().parents[1] / "hotline.env.example"


def secret() -> str:
    """48 random URL-safe characters (strong for every check the gateway makes)."""
    return secrets.token_urlsafe(36)


def values_in(text: str) -> dict[str, str]:
    """``NAME=value`` assignments of an env file (comments and blank values count as unset)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        value = value.strip().strip("'\"")
        if sep and not line.startswith("#") and value:
            found[name.strip()] = value
    return found


def _append_private(path: Path, lines: list[str]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lead = "" if not text or text.endswith("\n") else "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(lead + "\n".join(lines) + "\n")


@dataclass
class Filled:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    settings_written: bool = False


def settings_text(example: str, values: dict[str, str]) -> str:
    """``example`` with ``#NAME=`` / ``NAME=`` lines of ``values`` set (others untouched)."""
    out = []
    for line in example.splitlines():
        match = re.match(r"^#?([A-Z0-9_]+)=", line)
        if match and match.group(1) in values:
            line = f"{match.group(1)}={values[match.group(1)]}"
        out.append(line)
    return "\n".join(out) + "\n"


def fill(env_file: Path, settings_file: Path, example: Path = EXAMPLE) -> Filled:
    """Make ``env_file`` hold every compose secret and ``settings_file`` exist."""
    done = Filled()
    present = values_in(env_file.read_text(encoding="utf-8")) if env_file.exists() else {}
    new: dict[str, str] = {}
    for name in COMPOSE_SECRETS:
        if name in present:
            done.kept.append(name)
        else:
            new[name] = secret()
            done.added.append(name)
    if new:
        _append_private(env_file, [
            "# docker-compose.yml's secrets, added by 'hotline dev-setup --compose'",
            *(f"{name}={value}" for name, value in new.items())])
    if not settings_file.exists():
        ami = {**present, **new}["ASTERISK_AMI_SECRET"]
        text = settings_text(example.read_text(encoding="utf-8"), {
            "HOTLINE_WEB_SECRET": secret(),
            "HOTLINE_CONSOLE_SECRET": secret(),
            "HOTLINE_AMI_USERNAME": "hotline",
            "HOTLINE_AMI_SECRET": ami,
        })
        fd = os.open(settings_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        done.settings_written = True
    return done
