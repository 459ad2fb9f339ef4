"""PostgreSQL reads run without a transaction of their own (no BEGIN / COMMIT round trips); the
pool's connections they used are transactional again for the next write."""

from __future__ import annotations

import pytest
from psycopg import pq
from sqlalchemy import Connection, text

from tests.support.services import PostgresServer
from tickets.db import Database


def _status(conn: Connection) -> pq.TransactionStatus:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.info.transaction_status  # type: ignore[no-any-return]


def test_a_read_sends_no_begin_and_a_write_after_it_is_still_one_transaction(
        postgres: PostgresServer) -> None:
    db = Database(postgres.create_database())
    db.engine.pool.dispose()
    with db.write() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        assert _status(conn) is pq.TransactionStatus.IDLE  # no transaction open
    with pytest.raises(RuntimeError), db.write() as conn:  # the same pooled connection
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _status(conn) is pq.TransactionStatus.INTRANS
        raise RuntimeError("rolled back")
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    db.dispose()

