"""Group commit: concurrent callers in one process share one write transaction.

A caller puts its item in the queue. If no commit is running, it leads: it takes every item
pending at that moment (its own among them, at most ``max_batch``) and hands them to
``commit_batch`` in one go; the others wait. When the leader's batch is done it wakes the
oldest item that arrived meanwhile, whose thread leads the next batch. Nobody waits for a
timer: an idle store commits a lone item at once, and a busy one commits everything that
queued during the previous commit together.

``commit_batch(items)`` must give every item its result or its error
(:meth:`Pending.succeed` / :meth:`Pending.fail`); anything it leaves unset, or raises, fails
those items with the raised error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Pending(Generic[In, Out]):
    """One caller's item in a batch, and where its answer goes."""

    __slots__ = ("_done", "_error", "_result", "_wake", "item")

    def __init__(self, item: In) -> None:
        self.item = item
        self._result: Out | None = None
        self._error: BaseException | None = None
        self._done = False
        self._wake = threading.Event()

    @property
    def done(self) -> bool:
        return self._done

    def succeed(self, result: Out) -> None:
        self._result, self._error, self._done = result, None, True

    def fail(self, error: BaseException) -> None:
        self._result, self._error, self._done = None, error, True

    def outcome(self) -> Out:
        if self._error is not None:
            raise self._error
        assert self._done and self._result is not None
        return self._result


class GroupCommitter(Generic[In, Out]):
    """Gathers concurrent :meth:`run` calls into batches for ``commit_batch``."""

    def __init__(self, commit_batch: Callable[[Sequence[Pending[In, Out]]], None], *,
                 max_batch: int = 256) -> None:
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._queue: list[Pending[In, Out]] = []
        self._leading = False

    def run(self, item: In) -> Out:
        """Commit ``item`` with whatever else is pending; its own result, or its own error."""
        mine: Pending[In, Out] = Pending(item)
        with self._mutex:
            self._queue.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine._wake.wait()
            if mine.done:
                return mine.outcome()
        self._lead()
        return mine.outcome()

    def _lead(self) -> None:
        with self._mutex:
            batch = self._queue[:self._max_batch]
            del self._queue[:self._max_batch]
        try:
            self._commit_batch(batch)
        except BaseException as exc:
            for p in batch:
                if not p.done:
                    p.fail(exc)
        finally:
            for p in batch:
                if not p.done:
                    p.fail(RuntimeError("group commit left an item without an answer"))
            with self._mutex:
                if self._queue:
                    self._queue[0]._wake.set()
                else:
                    self._leading = False
            for p in batch:
                p._wake.set()
