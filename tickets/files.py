"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(target: Path, write: Callable[[BinaryIO], object], *,
                     prefix: str = ".", suffix: str = ".part", mode: int | None = None,
                     gid: int | None = None, sync_dir: bool = False) -> None:
    """Call ``write(file)`` on a hidden temporary file beside ``target``, fsync it, then rename
    it to ``target``; on any error the temporary file is removed and nothing is left.

    ``mode`` and ``gid`` are given to the file before it takes ``target``'s name (a reader
    never sees it with other permissions; a group that cannot be given is left as it is);
    ``sync_dir`` also fsyncs the folder, so the rename itself survives a crash."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if gid is not None:
            with contextlib.suppress(PermissionError):
                os.chown(tmp, -1, gid)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
