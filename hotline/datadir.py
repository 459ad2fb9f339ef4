"""The data folder is private to the gateway's user: the folder and every folder in it 0700,
every file 0600 — it holds the SQLite database (residents' phones, openids and words, the
operators' password hashes), the private Redis, the spool, recordings and photos.

New files are made private where they are created (the database file before SQLite opens it,
its journal files inherit its mode; media, spool entries and the run lock are created 0600;
the private Redis runs under umask 077). :func:`make_private` fixes what an older version or
another umask left readable, at every start, and says so in one log line.

Folders Asterisk must write as *another* user (recordings, spool, prompts; docs/asterisk.md)
belong outside the data folder, as the container image puts them; inside it they are private
too, which suits Asterisk running as the gateway's user (``hotline run`` on one machine).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def create(data_dir: Path) -> None:
    """Create ``data_dir`` with mode 0700, and each missing parent with 0700 too (``mkdir``'s
    ``parents=True`` would make them with the umask's mode: a world-readable data folder for
    a ``var/metrics`` made first)."""
    missing = [p for p in (data_dir, *data_dir.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)


def make_private(data_dir: Path) -> int:
    """Take group and other permissions off ``data_dir`` and everything below it (symbolic
    links are not followed; entries of another owner are left as they are); the number of
    entries changed, logged once when not 0."""
    if not data_dir.is_dir():
        return 0
    changed = _fix(data_dir, DIR_MODE)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            changed += _fix(Path(root, name), DIR_MODE)
        for name in files:
            changed += _fix(Path(root, name), FILE_MODE)
    if changed:
        log.warning("data folder %s was readable by others: made %d entries private "
                    "(folders 0700, files 0600)", data_dir.resolve(), changed)
    return changed


def _fix(path: Path, wanted: int) -> int:
    try:
        st = path.lstat()
    except FileNotFoundError:  # gone meanwhile (a spool entry ingested, a temporary file)
        return 0
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        return 0
    current = stat.S_IMODE(st.st_mode)
    if not current & 0o077:
        return 0
    try:
        path.chmod(wanted if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)
                   else current & ~0o077)
    except OSError:
        return 0
    return 1
