"""The feed never skips a ticket while many writers commit at once (SQLite and PostgreSQL).

Concurrent transactions could commit out of seq order: a consumer that saw seq 11 before seq 10
committed would page past 10 forever. Writers here submit and change tickets from many threads
while a consumer pages with its cursor; every ticket must reach the consumer, each version at
most once, in strictly increasing seq, ending at the ticket's final state.
"""

from __future__ import annotations

import threading
from datetime import datetime

from tests.support.intakes import intake
from tickets.model import Channel, Intake, Ticket
from tickets.store import Store

WRITERS = 6
PER_WRITER = 25


def _intake(ref: str) -> Intake:
    return intake(ref, f"请求 {ref}", channel=Channel.api)


def _touch(t: Ticket, seq: int, at: datetime) -> Ticket:
    return t.model_copy(update={"priority": 1 + (seq % 5)})


def test_consumer_sees_every_ticket_once_in_order(store: Store) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[int, str]] = []
    last_seen: dict[str, Ticket] = {}
    cursor = 0

    def consume_once() -> None:
        nonlocal cursor
        for t in store.feed(cursor, 50):
            seen.append((t.seq, t.id))
            last_seen[t.id] = t
            cursor = t.seq

    def consumer() -> None:
        try:
            while not stop.is_set():
                consume_once()
        except BaseException as exc:
            errors.append(exc)

    def writer(w: int) -> None:
        try:
            for i in range(PER_WRITER):
                t = store.submit(_intake(f"w{w}-{i}")).ticket
                if i % 2 == 0:
                    store.change(t.id, _touch)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=consumer)
    reader.start()
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    consume_once()  # drain what was committed after the last poll

    assert errors == []
    seqs = [s for s, _ in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq went backwards or repeated"
    assert len(set(seen)) == len(seen), "a version was delivered twice"
    final = {t.id: t for t in store.feed(0, 10_000)}
    assert len(final) == WRITERS * PER_WRITER
    assert set(last_seen) == set(final), "the consumer never saw some tickets"
    assert last_seen == final, "the consumer's last view differs from the final state"
