"""How this ``hotline`` can actually be run from the user's shell, so that every hint it prints
is a command that works when pasted: ``hotline`` when that name on the ``PATH`` is this very
program, else the path of the console script (``.venv/bin/hotline`` from the project folder,
as ``make run`` leaves it), else ``<python> -m hotline``."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

NAME = "hotline"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is under it (``.venv/bin/hotline``),
    else absolute."""
    absolute = path.absolute()
    here = Path.cwd()
    if here == Path(here.anchor):
        return str(absolute)
    try:
        relative = absolute.relative_to(here)
    except ValueError:
        return str(absolute)
    return str(relative)


def prefix(argv0: str | None = None, executable: str | None = None,
           path: str | None = None) -> str:
    """The words that start a runnable ``hotline`` command line in this environment."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    script = Path(argv0) if Path(argv0).name == NAME else Path(executable).parent / NAME
    on_path = shutil.which(NAME, path=os.environ.get("PATH") if path is None else path)
    if script.is_file():
        if on_path is not None and _same(Path(on_path), script):
            return NAME
        return _shown(script)
    return f"{_shown(Path(executable))} -m {NAME}"


_names: frozenset[str] = frozenset()


def know(names: Iterable[str]) -> None:
    """The subcommand names (from the parser) that :func:`runnable` recognises after
    ``hotline``."""
    global _names
    _names = frozenset(names)


def runnable(text: str, start: str | None = None) -> str:
    """``text`` with every ``hotline <subcommand>`` spelled as it can be run here."""
    if not _names:
        return text
    start = prefix() if start is None else start
    if start == NAME:
        return text
    words = "|".join(re.escape(n) for n in sorted(_names, key=len, reverse=True))
    return re.sub(rf"(?<![\w/.-]){NAME}(?= (?:{words})\b)", lambda _: start, text)
