"""The group committer on its own: who leads, who waits, what each caller gets back."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from tests.support.services import wait_until
from tickets.groupcommit import GroupCommitter, Pending


def test_an_idle_committer_commits_a_lone_item_in_the_callers_thread() -> None:
    batches: list[tuple[list[int], str]] = []

    def commit(batch: Sequence[Pending[int, int]]) -> None:
        batches.append(([p.item for p in batch], threading.current_thread().name))
        for p in batch:
            p.succeed(p.item * 10)

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    assert committer.run(4) == 40
    assert batches == [([4], threading.current_thread().name)]


def test_items_that_queue_during_a_commit_go_together_in_the_next() -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def commit(batch: Sequence[Pending[int, int]]) -> None:
        if batch[0].item == 0:
            release.wait()
        batches.append([p.item for p in batch])
        for p in batch:
            p.succeed(p.item + 100)

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    results: dict[int, int] = {}

    def call(i: int) -> None:
        results[i] = committer.run(i)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    wait_until(lambda: len(batches) == 0 and committer._leading)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 9)]
    for t in others:
        t.start()
    wait_until(lambda: len(committer._queue) == 8)
    release.set()
    for t in [first, *others]:
        t.join()
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, 9)) and len(batches) == 2
    assert results == {i: i + 100 for i in range(9)}


def test_batches_are_capped() -> None:
    release = threading.Event()
    sizes: list[int] = []

    def commit(batch: Sequence[Pending[int, int]]) -> None:
        if batch[0].item == 0:
            release.wait()
        sizes.append(len(batch))
        for p in batch:
            p.succeed(1)

    committer: GroupCommitter[int, int] = GroupCommitter(commit, max_batch=3)
    threads = [threading.Thread(target=committer.run, args=(i,)) for i in range(8)]
    threads[0].start()
    wait_until(lambda: committer._leading)
    for t in threads[1:]:
        t.start()
    wait_until(lambda: len(committer._queue) == 7)
    release.set()
    for t in threads:
        t.join()
    assert sizes == [1, 3, 3, 1]


def test_each_caller_gets_its_own_error_and_an_unanswered_item_fails() -> None:
    def commit(batch: Sequence[Pending[int, int]]) -> None:
        for p in batch:
            if p.item == 1:
                p.fail(ValueError("one"))
            elif p.item == 2:
                p.succeed(2)
            # 3: left without an answer

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    with pytest.raises(ValueError, match="one"):
        committer.run(1)
    assert committer.run(2) == 2
    with pytest.raises(RuntimeError, match="without an answer"):
        committer.run(3)


def test_a_batch_that_raises_fails_every_caller_in_it_and_the_next_batch_still_runs() -> None:
    release = threading.Event()

    def commit(batch: Sequence[Pending[int, int]]) -> None:
        if batch[0].item == 0:
            release.wait()
            for p in batch:
                p.succeed(0)
            return
        if any(p.item == 5 for p in batch):
            raise OSError("commit refused")
        for p in batch:
            p.succeed(p.item)

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    outcomes: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            outcomes[i] = committer.run(i)
        except OSError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    threads[0].start()
    wait_until(lambda: committer._leading)
    for t in threads[1:]:
        t.start()
    wait_until(lambda: len(committer._queue) == 5)
    release.set()
    for t in threads:
        t.join()
    assert outcomes[0] == 0
    assert all(isinstance(outcomes[i], OSError) for i in range(1, 6))
    assert committer.run(7) == 7 and not committer._leading
