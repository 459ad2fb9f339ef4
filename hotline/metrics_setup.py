"""Multiprocess mode of ``prometheus_client`` for the gateway's processes.

prometheus_client decides how it stores values when it is first imported: every long-running
command (``run``, ``serve``, ``agi``, ``worker``, ``relay``, ``callback``) calls :func:`prepare`
first, which points ``PROMETHEUS_MULTIPROC_DIR`` at ``HOTLINE_METRICS_DIR`` (default
``<data dir>/metrics``) unless the environment already names a folder. Children of
``hotline run`` inherit it; the supervisor empties the folder when it starts and drops a dead
child's live gauges (:func:`process_dead`). Processes started apart (``serve``, ``worker``, … on
several machines or containers) each serve their own folder's sums: give the processes of one
machine the same folder and empty it when they all start.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hotline import datadir

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(folder: Path, *, empty: bool = False) -> Path:
    """Use ``folder`` (or the one the environment names) for this process and its children;
    ``empty``: remove what earlier runs left there (only the process that starts all others)."""
    chosen = Path(os.environ.setdefault(ENV, str(folder)))
    if empty and chosen.exists():
        shutil.rmtree(chosen)
    datadir.create(chosen)  # private, like the data folder it usually sits in
    return chosen


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def process_dead(pid: int) -> None:
    """Forget the live gauges (sessions in progress) of a process that ended."""
    if enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
