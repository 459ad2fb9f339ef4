"""The process-wide store that RQ jobs use, installed by the process that runs them.

Jobs are named by dotted path and get only JSON arguments, so a worker process installs its
:class:`~router.store.Store` here once at start (``hotline worker`` does); jobs call
:func:`store`.
"""

from __future__ import annotations

from router.store import Store

_store: Store | None = None


def install(store: Store) -> None:
    global _store
    _store = store


def store() -> Store:
    if _store is None:
        raise RuntimeError("no ticket store installed in this process (router.runtime.install)")
    return _store
