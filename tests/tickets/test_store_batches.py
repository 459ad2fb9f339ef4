"""Group commit of submits (SQLite and PostgreSQL): a batch is one transaction, each caller
gets exactly its own answer, and the feed's seq order holds across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from tests.support.intakes import intake
from tests.support.services import wait_until
from tickets.groupcommit import Pending
from tickets.jobs import Job, JobsFor, no_jobs
from tickets.model import Channel, Intake, Ticket
from tickets.store import Store, SubmitResult, _Submission
from tickets.tables import outbox, tickets

ROOT = Path(__file__).resolve().parents[2]


def _api(ref: str) -> Intake:
    return intake(ref, f"请求 {ref}", channel=Channel.api)


def _pending(i: Intake, jobs: JobsFor = no_jobs) -> Pending[_Submission, SubmitResult]:
    return Pending(_Submission(i, jobs))


@pytest.fixture
def commits(store: Store) -> Iterator[list[int]]:
    """One entry per COMMIT the store's engine makes."""
    seen: list[int] = []

    def on_commit(_conn: Any) -> None:
        seen.append(1)

    event.listen(store.db.engine, "commit", on_commit)
    yield seen
    event.remove(store.db.engine, "commit", on_commit)


def _counts(store: Store) -> tuple[int, int]:
    with store.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(tickets)).scalar_one(),
                conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_a_batch_answers_each_caller_its_own_ticket_in_one_commit(
        store: Store, commits: list[int]) -> None:
    old = store.submit(_api("old")).ticket
    commits.clear()
    batch = [_pending(_api("a")), _pending(_api("old")), _pending(_api("b")),
             _pending(_api("a"))]
    store._commit_submissions(batch)
    a, again_old, b, again_a = (p.outcome() for p in batch)
    assert len(commits) == 1, "the batch took more than one transaction"
    assert a.created and b.created
    assert not again_old.created and again_old.ticket == old
    assert not again_a.created and again_a.ticket == a.ticket
    assert [a.ticket.seq, b.ticket.seq] == [old.seq + 1, old.seq + 2]
    assert [int(a.ticket.number), int(b.ticket.number)] == [int(old.number) + 1,
                                                            int(old.number) + 2]
    assert store.get(a.ticket.id) == a.ticket and store.get(b.ticket.id) == b.ticket
    # one dispatch job each (hotline.wiring's intake jobs), with the ticket in the same commit
    assert _counts(store) == (3, 3)
    assert store.current_seq() == b.ticket.seq


def test_a_batch_of_repeats_only_uses_no_seq(store: Store) -> None:
    old = store.submit(_api("old")).ticket
    batch = [_pending(_api("old")), _pending(_api("old"))]
    store._commit_submissions(batch)
    assert [p.outcome() for p in batch] == [SubmitResult(old, created=False)] * 2
    assert store.current_seq() == old.seq


def test_a_python_error_of_one_item_fails_only_that_caller(store: Store) -> None:
    def broken(_ticket_id: str) -> Sequence[Job]:
        raise ValueError("this caller's jobs are broken")

    batch = [_pending(_api("a")), _pending(_api("b"), broken), _pending(_api("c"))]
    store._commit_submissions(batch)
    assert batch[0].outcome().created and batch[2].outcome().created
    with pytest.raises(ValueError, match="broken"):
        batch[1].outcome()
    assert store.find_by_ref("api", "b") is None
    assert _counts(store) == (2, 2)


def test_concurrent_submits_share_commits(store: Store, commits: list[int]) -> None:
    """While one submit is inside its transaction, the others queue and then commit together:
    ten submits, two COMMITs."""
    release = threading.Event()

    def held(_ticket_id: str) -> Sequence[Job]:
        release.wait()
        return ()

    results: dict[str, SubmitResult] = {}

    def call(ref: str, jobs: JobsFor = no_jobs) -> None:
        results[ref] = store.submit(_api(ref), jobs=jobs)

    first = threading.Thread(target=call, args=("first", held))
    first.start()
    wait_until(lambda: store._submits._leading)
    others = [threading.Thread(target=call, args=(f"r{i}",)) for i in range(9)]
    for t in others:
        t.start()
    wait_until(lambda: len(store._submits._queue) == 9)
    release.set()
    for t in [first, *others]:
        t.join()
    assert len(commits) == 2
    assert all(r.created for r in results.values()) and len(results) == 10
    seqs = sorted(r.ticket.seq for r in results.values())
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    assert len({r.ticket.number for r in results.values()}) == 10


def test_a_batch_whose_transaction_dies_fails_every_caller_and_writes_nothing(
        store: Store) -> None:
    """The batch's connection is killed inside its transaction (PostgreSQL kills the backend):
    every caller of that batch gets the error, no ticket and no outbox row of it exists."""
    if store.db.dialect != "postgresql":
        pytest.skip("a backend to kill is PostgreSQL's")
    inside = threading.Event()
    release = threading.Event()

    def held(_ticket_id: str) -> Sequence[Job]:
        inside.set()
        release.wait()
        return store.intake_jobs(_ticket_id)

    before = store.current_seq()
    batch = [_pending(_api("a")), _pending(_api("b"), held), _pending(_api("c"))]
    worker = threading.Thread(target=store._commit_submissions, args=(batch,))
    worker.start()
    inside.wait()
    with store.db.read() as conn:
        killed = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'idle in transaction'")).scalars().all()
    release.set()
    worker.join()
    assert killed == [True]
    for p in batch:
        with pytest.raises(OperationalError):
            p.outcome()
    assert _counts(store) == (0, 0)
    assert store.current_seq() == before
    assert all(store.find_by_ref("api", r) is None for r in "abc")


# -- seq order across threads and processes ------------------------------------------------

PROCESSES = 2
THREADS = 4
PER_THREAD = 15


def test_seq_order_is_commit_order_across_processes(store: Store, database_url: str) -> None:
    """Two processes, each with threads whose submits group-commit, and a consumer paging the
    feed meanwhile: it sees every ticket, in strictly increasing seq, none twice."""
    seen: list[Ticket] = []
    stop = threading.Event()
    cursor = 0

    def consume_once() -> None:
        nonlocal cursor
        for t in store.feed(cursor, 50):
            seen.append(t)
            cursor = t.seq

    def consumer() -> None:
        while not stop.is_set():
            consume_once()

    reader = threading.Thread(target=consumer)
    reader.start()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.batch_writer",
                               database_url, f"p{n}", str(THREADS), str(PER_THREAD)],
                              cwd=ROOT)
             for n in range(PROCESSES)]
    codes = [p.wait() for p in procs]
    stop.set()
    reader.join()
    consume_once()
    assert codes == [0] * PROCESSES
    seqs = [t.seq for t in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    total = PROCESSES * THREADS * PER_THREAD
    assert len(seen) == total, "the consumer missed tickets (or saw one twice)"
    assert len({t.number for t in seen}) == total
    assert _counts(store) == (total, total)
