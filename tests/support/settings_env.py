"""In-process runs of the gateway's commands with settings of the test's own.

:func:`hotline_env` gives a test the environment a fresh machine has: no ``HOTLINE_*``
variable from the developer's shell or CI, no stray ``.env`` (the working folder is the test's
own), the data folder under the test's temporary folder, and the settings the test names.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def hotline_env(monkeypatch: pytest.MonkeyPatch, workdir: Path, *, chdir: bool = True,
                **settings: str) -> Path:
    """Clear every ``HOTLINE_*`` variable, work in ``workdir`` (``chdir``), keep data in
    ``workdir/var`` and set ``settings`` (``redis_url="…"`` → ``HOTLINE_REDIS_URL``); the data
    folder."""
    if chdir:
        monkeypatch.chdir(workdir)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    data = workdir / "var"
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data))
    for name, value in settings.items():
        monkeypatch.setenv(f"HOTLINE_{name.upper()}", value)
    return data
