"""The private Redis: socket-only, mode-700 folder, append-only file, short enough path."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hotline.redis_private import MAX_SOCKET_PATH, PrivateRedis, RedisSetupError


def test_argv_is_socket_only_with_an_append_only_file(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis" / "redis.sock")
    argv = redis.argv()
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--port"] == "0"
    assert options["--unixsocket"] == str(redis.socket)
    assert options["--unixsocketperm"] == "700"
    assert options["--appendonly"] == "yes"
    assert options["--save"] == ""
    assert options["--dir"] == str(tmp_path / "redis")
    assert redis.url == f"unix://{redis.socket}"


def test_prepare_makes_a_private_folder_and_removes_a_stale_socket(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis" / "redis.sock")
    redis.socket.parent.mkdir(mode=0o755)
    redis.socket.write_text("")  # what a SIGKILLed server may leave
    redis.prepare()
    assert stat.S_IMODE(redis.folder.stat().st_mode) == 0o700
    assert not redis.socket.exists()
    assert not redis.answers()


def test_a_socket_path_too_long_for_unix_sockets_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * MAX_SOCKET_PATH) / "redis.sock"
    with pytest.raises(RedisSetupError, match="shorter HOTLINE_DATA_DIR"):
        PrivateRedis(deep).prepare()
