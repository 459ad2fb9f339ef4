"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(target: Path, write: Callable[[BinaryIO], object], *,
                     prefix: str = ".", suffix: str = ".part") -> None:
    """Call ``write(file)`` on a hidden temporary file beside ``target``, fsync it, then rename
    it to ``target``; on any error the temporary file is removed and nothing is left."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
