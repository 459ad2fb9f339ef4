"""What ``/metrics`` reads at scrape time (a ``prometheus_client`` collector): the outbox
backlog, deliveries waiting or set aside, RQ queues, live recognition's admission counters and
the three rates of the supervision page (:mod:`tickets.rates`, the same module).

A scrape never blocks intake: it only reads (SELECTs outside the write lock; SQLite in WAL
mode lets writers go on), with short Redis timeouts, in a worker thread, and one snapshot is
shared by the scrapes of a few seconds (the rates, a month of tickets, by a minute). A source
that fails is reported as ``hotline_metrics_source_up{source} 0`` and the rest still answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tickets import rates, rediskeys
from tickets.model import Status
from tickets.queues import ALL_QUEUES, queue
from tickets.redisclient import connect
from tickets.store import Store
from tickets.tables import deliveries, outbox, tickets

log = logging.getLogger(__name__)
SNAPSHOT_SECONDS = 5.0
RATES_SECONDS = 60.0
REDIS_TIMEOUT = 1.0
RATE_NAMES = ("response", "solved", "satisfied")
OVERDUE_STATUSES = (Status.dispatched, Status.in_progress)


@dataclass
class Snapshot:
    metrics: list[Metric] = field(default_factory=list)
    taken: float = 0.0


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class StateCollector(Collector):
    def __init__(self, store: Store, redis_url: str | None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.redis_url = redis_url
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._rates = Snapshot()

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes wait for one snapshot instead of each reading
            now = time.monotonic()
            if now - self._snapshot.taken > SNAPSHOT_SECONDS:
                self._snapshot = Snapshot(self._read(), now)
            if now - self._rates.taken > RATES_SECONDS:
                self._rates = Snapshot(self._read_rates(), now)
            yield from self._snapshot.metrics
            yield from self._rates.metrics

    # -- sources ----------------------------------------------------------------------------
    def _read(self) -> list[Metric]:
        up = _gauge("hotline_metrics_source_up", "1 when /metrics could read the source",
                    ["source"])
        found: list[Metric] = [up]
        for source, read in (("database", self._database), ("redis", self._redis)):
            try:
                found += read()
                up.add_metric([source], 1)
            except Exception:  # a scrape reports the failure; the log says what
                log.warning("metrics: cannot read the %s", source, exc_info=True)
                up.add_metric([source], 0)
        return found

    def _database(self) -> list[Metric]:
        now = self.clock()
        with self.store.db.read() as conn:
            due = (outbox.c.enqueued_at.is_(None), outbox.c.run_at <= now)
            backlog, oldest = conn.execute(
                select(func.count(), func.min(outbox.c.run_at)).where(*due)).one()
            by_status = {str(status): int(count) for status, count in conn.execute(
                select(deliveries.c.status, func.count()).where(
                    deliveries.c.status.in_(("pending", "dead")))
                .group_by(deliveries.c.status)).all()}
        size = _gauge("hotline_outbox_backlog", "Outbox rows due and not yet moved onto RQ")
        size.add_metric([], backlog)
        age = _gauge("hotline_outbox_oldest_age_seconds",
                     "Age of the oldest due outbox row (0 when none)")
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        waiting = _gauge("hotline_deliveries", "Deliveries by status (pending, dead)",
                         ["status"])
        for status in ("pending", "dead"):
            waiting.add_metric([status], by_status.get(status, 0))
        return [size, age, waiting]

    def _redis(self) -> list[Metric]:
        if not self.redis_url:
            return []
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

        redis = connect(self.redis_url, timeout=REDIS_TIMEOUT)
        try:
            jobs = _gauge("hotline_queue_jobs", "RQ jobs by queue and state (queued, started, "
                          "scheduled: waiting for a retry, dead: failed after every retry)",
                          ["queue", "state"])
            for name in ALL_QUEUES:
                q = queue(name, redis)
                jobs.add_metric([name.value, "queued"], q.count)
                jobs.add_metric([name.value, "started"], StartedJobRegistry(queue=q).count)
                scheduled = ScheduledJobRegistry(queue=q)  # type: ignore[no-untyped-call]
                jobs.add_metric([name.value, "scheduled"], scheduled.count)
                jobs.add_metric([name.value, "dead"], FailedJobRegistry(queue=q).count)
            raw = redis.hgetall(rediskeys.TRANSCRIPTION_METRICS)
        finally:
            redis.close()
        counts = {k.decode() if isinstance(k, bytes) else str(k): int(v)
                  for k, v in raw.items()}
        admitted = CounterMetricFamily("hotline_live_recognition_admitted",
                                       "Calls admitted to live recognition")
        admitted.add_metric([], counts.get("live_admitted", 0))
        refused = CounterMetricFamily("hotline_live_recognition_refused",
                                      "Calls refused live recognition (capacity full)")
        refused.add_metric([], counts.get("live_refused", 0))
        return [jobs, admitted, refused]

    def _read_rates(self) -> list[Metric]:
        """This month's 响应率、解决率、满意率 per unit (street:…, dept:…) and for the district
        (``unit="all"``), as the supervision page computes them."""
        now = self.clock()
        try:
            period = rates.period_of("month", now.astimezone(self.store.tz).date(), self.store.tz)
            found = rates.received_in(self.store, period)
            table = {**rates.compute(found, now, "unit"), **rates.compute(found, now, "all")}
            overdue = self._overdue(now)
        except Exception:
            log.warning("metrics: cannot compute the rates", exc_info=True)
            return []
        gauge = _gauge("hotline_rate_ratio", "This month's rates (0–1) as the supervision page "
                       "computes them: response (响应率), solved (解决率), satisfied (满意率)",
                       ["rate", "unit"])
        for key, figures in sorted(table.items()):
            for name in RATE_NAMES:
                value = getattr(figures, name).value
                if value is not None:
                    gauge.add_metric([name, key], value)
        return [gauge, overdue]

    def _overdue(self, now: datetime) -> Metric:
        """Tickets a unit has past their resolve-by time and not yet resolved, per unit."""
        with self.store.db.read() as conn:
            rows = conn.execute(
                select(tickets.c.units, func.count())
                .where(tickets.c.status.in_([s.value for s in OVERDUE_STATUSES]),
                       tickets.c.resolve_by < now, tickets.c.units.is_not(None))
                .group_by(tickets.c.units)).all()
        per_unit: dict[str, int] = {}
        for units_text, count in rows:
            for unit in str(units_text).split():
                per_unit[unit] = per_unit.get(unit, 0) + int(count)
        gauge = _gauge("hotline_overdue_tickets", "Tickets past their resolve-by time that the "
                       "unit has not resolved, per unit", ["unit"])
        for unit, count in sorted(per_unit.items()):
            gauge.add_metric([unit], count)
        return gauge
