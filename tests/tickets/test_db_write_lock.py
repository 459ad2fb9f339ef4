"""SQLite writers of one process queue on a lock for the transaction only: a waiting writer has
already opened its connection (connect + pragmas), so the lock's holder never waits for it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from tests.support.services import wait_until
from tickets.db import Database


def test_a_waiting_writer_opens_its_connection_before_taking_the_lock(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    opened: list[str] = []

    @event.listens_for(db.engine, "connect")
    def _opened(_dbapi: Any, _record: Any) -> None:
        opened.append(threading.current_thread().name)

    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            inside.set()
            release.wait(30)

    def second() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))

    a = threading.Thread(target=first, name="first")
    a.start()
    try:
        assert inside.wait(30)
        b = threading.Thread(target=second, name="second")
        b.start()
        wait_until(lambda: opened == ["first", "second"], timeout=30)
        assert b.is_alive()  # connected, and waiting: one write transaction at a time
    finally:
        release.set()
        a.join(30)
    b.join(30)
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    db.dispose()


def test_a_failed_write_releases_the_lock_and_rolls_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    try:
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db._write_lock is not None and not db._write_lock.locked()
    with db.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    with db.read() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [2]
    db.dispose()
