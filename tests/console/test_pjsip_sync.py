"""Writing pjsip-operators.conf atomically, and a reload that cannot reach Asterisk saying so.
(A real reload: tests/integration/console/test_pjsip_operators.py.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from console.pjsip_sync import MANUAL, AmiTarget, reload_pjsip, write_atomic
from tests.support.services import free_port


def test_a_new_file_is_written_mode_640(tmp_path: Path) -> None:
    path = tmp_path / "asterisk" / "pjsip-operators.conf"
    assert write_atomic(path, "[op-a](operator-webrtc)\n")
    assert path.read_text() == "[op-a](operator-webrtc)\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["pjsip-operators.conf"]


def test_the_same_text_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ops.conf"
    write_atomic(path, "one\n")
    inode = path.stat().st_ino
    assert not write_atomic(path, "one\n")
    assert path.stat().st_ino == inode


def test_a_replacement_keeps_mode_and_is_a_new_inode(tmp_path: Path) -> None:
    path = tmp_path / "ops.conf"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    inode = path.stat().st_ino
    assert write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.stat().st_ino != inode  # renamed over: a reader never sees half a file
    assert [p.name for p in tmp_path.iterdir()] == ["ops.conf"]


def test_no_asterisk_listening_is_reported_with_the_manual_command() -> None:
    result = reload_pjsip(AmiTarget("127.0.0.1", free_port(), "hotline", "s3cret"), timeout=5)
    assert not result.ok
    assert "does not answer" in result.message
    assert MANUAL in result.message


def test_a_silent_server_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = reload_pjsip(AmiTarget("127.0.0.1", port, "hotline", "s3cret"), timeout=0.5)
    assert not result.ok
    assert "TimeoutError" in result.message and MANUAL in result.message
