"""What the system holds once the drive is over: the back-office feed (over HTTP, as a back
office reads it), the outbox, deliveries and notifications (PostgreSQL), the job queues and
the dead letters (Redis), and the spool folder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry

from tickets import deadletter
from tickets.queues import ALL_QUEUES


@dataclass
class Snapshot:
    tickets: list[dict[str, Any]]
    outbox_pending: int  # rows never moved onto RQ
    outbox_due: int  # of which already due (run_at passed): stuck
    deliveries: dict[str, int]  # status -> rows
    notifications: dict[str, int]
    queued: int  # jobs waiting in RQ
    started: int  # jobs marked running (a killed worker's stay so until rq's timeout)
    failed_jobs: list[str] = field(default_factory=list)  # "<queue> <path> <error>"
    spool_left: int = 0
    recordings_left: int = 0  # messages in the IVR's recordings folder (calls or left behind)
    untranscribed: int = 0  # voice tickets with audio and no transcript yet
    dispatch_rewritten: int = 0  # tickets whose dispatch job the stuck sweep wrote again


def feed(base: str, token: str) -> list[dict[str, Any]]:
    """Every ticket, from ``GET /api/v1/tickets`` page by page. The feed is ordered by each
    ticket's last change: one changed while the pages are read comes again on a later page,
    and its latest version counts (it is one ticket, not two)."""
    found: dict[str, dict[str, Any]] = {}
    after = 0
    with httpx.Client(base_url=base, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            r = client.get("/api/v1/tickets", params={"after": after, "limit": 500})
            r.raise_for_status()
            page = r.json()
            for ticket in page["tickets"]:
                found.pop(ticket["id"], None)
                found[ticket["id"]] = ticket
            if not page["tickets"]:
                return list(found.values())
            after = page["next"]


def _counts(conn: psycopg.Connection[Any], table: str) -> dict[str, int]:
    rows = conn.execute(f"SELECT status, count(*) FROM {table} GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


def snapshot(base: str, token: str, pg_port: int, redis_url: str, spool: Path,
             recordings: Path | None = None) -> Snapshot:
    tickets = feed(base, token)
    with psycopg.connect(f"host=127.0.0.1 port={pg_port} user=postgres dbname=postgres") as conn:
        pending, due = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE run_at <= now()) FROM outbox"
            " WHERE enqueued_at IS NULL").fetchone() or (0, 0)
        rewritten = conn.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM outbox WHERE job = %s"
            " GROUP BY ticket_id HAVING count(*) > 1) AS again",
            ("router.dispatch.dispatch",)).fetchone() or (0,)
        deliveries = _counts(conn, "deliveries")
        notifications = _counts(conn, "notifications")
    redis = Redis.from_url(redis_url)
    try:
        queued = sum(len(Queue(q.value, connection=redis)) for q in ALL_QUEUES)
        started = sum(len(StartedJobRegistry(q.value, connection=redis)) for q in ALL_QUEUES)
        failed = [f"{j.queue.value} {j.path} {j.error[-200:]}"
                  for j in deadletter.failed(redis, list(ALL_QUEUES))]
    finally:
        redis.close()
        redis.connection_pool.disconnect()
    # entries waiting at the spool's top level (ingested ones move to done/, refused to bad/)
    left = sum(1 for p in spool.iterdir() if p.is_file()) if spool.exists() else 0
    messages = len(list(recordings.glob("*.json"))) if recordings and recordings.exists() else 0
    untranscribed = sum(1 for t in tickets if t["channel"] == "voice" and t["attachments"]
                        and not t.get("transcript"))
    return Snapshot(tickets, int(pending), int(due), deliveries, notifications, queued, started,
                    failed, left, messages, untranscribed, int(rewritten[0]))


def settled(s: Snapshot) -> bool:
    """Nothing more will happen by itself: every ticket past ``received``, the outbox moved,
    no job waiting, no delivery or notification pending. (A job a SIGKILLed worker held stays
    in rq's started registry until its timeout; its effect is what the audit checks.)"""
    return (all(t["status"] != "received" for t in s.tickets) and s.outbox_due == 0
            and s.queued == 0 and s.spool_left == 0 and s.recordings_left == 0
            and s.untranscribed == 0
            and not s.deliveries.get("pending") and not s.notifications.get("pending")
            and not s.notifications.get("sending"))


def _progress(s: Snapshot) -> tuple[int, ...]:
    return (sum(t["status"] == "received" for t in s.tickets), s.outbox_due, s.queued,
            s.deliveries.get("pending", 0), s.notifications.get("pending", 0), s.spool_left,
            s.recordings_left, s.untranscribed)


def wait_settled(read: Any, timeout: float, cap: float = 3600.0) -> tuple[Snapshot, float]:
    """Read snapshots until one is :func:`settled`, or nothing moved for ``timeout`` seconds
    (a backlog the workers are still working through keeps the wait going, up to ``cap``):
    (last, seconds)."""
    t0 = last_move = time.monotonic()
    seen: tuple[int, ...] | None = None
    while True:
        s: Snapshot = read()
        now = time.monotonic()
        if _progress(s) != seen:
            seen, last_move = _progress(s), now
        if settled(s) or now - last_move > timeout or now - t0 > cap:
            return s, round(now - t0, 1)
        print(f"chaos: settling: {seen[0]} tickets received, outbox due {s.outbox_due},"
              f" queued {s.queued}, running {s.started}, deliveries {s.deliveries},"
              f" notifications {s.notifications}, spool {s.spool_left},"
              f" recordings {s.recordings_left}, untranscribed {s.untranscribed}", flush=True)
        time.sleep(3)
