"""scripts/asterisk-root.sh: a cached root is reused only when it recorded Asterisk 22.x."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "asterisk-root.sh"


def _fake_root(tmp_path: Path, recorded: str) -> Path:
    root = tmp_path / "asterisk-root"
    binary = root / "usr/sbin/asterisk"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (root / ".hotline-asterisk-version").write_text(recorded)
    return root


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    # An unreachable mirror: a rebuild, if the script wants one, fails at once.
    env = {**os.environ, "HOTLINE_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}
    return subprocess.run([str(SCRIPT), str(root)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_a_root_that_recorded_asterisk_22_is_reused(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, "Asterisk 22.10.1+dfsg+~cs6.17.60671434-1\npackage 1:22.10.1\n")
    done = _run(root)
    assert done.returncode == 0, done.stderr
    assert "asterisk root ready" in done.stdout
    assert "Asterisk 22.10.1" in done.stdout


def test_a_root_of_another_major_version_is_not_used(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, "Asterisk 23.0.0\npackage 1:23.0.0-1\n")
    done = _run(root)
    assert done.returncode != 0
    assert "not Asterisk 22.x: rebuilding it" in done.stderr
    # the failed rebuild left the old root alone and no half-built one beside it
    assert (root / ".hotline-asterisk-version").read_text().startswith("Asterisk 23.0.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".asterisk-root.lock", "asterisk-root"]
