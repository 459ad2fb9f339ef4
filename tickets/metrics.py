"""The gateway's Prometheus instruments (``prometheus_client``), one place for every room.

Names follow Prometheus conventions: the ``hotline_`` prefix, base units (seconds), ``_total``
for counters, histograms for durations, and labels from small fixed sets (channel, step,
result, queue) — never a ticket id, a number or a phone.

Multiprocess mode: ``hotline run`` and production run several processes (serve, agi, workers;
RQ forks a work horse per job). :func:`hotline.metrics_setup.prepare` sets
``PROMETHEUS_MULTIPROC_DIR`` before the first instrument is made — prometheus_client picks its
value class when it is first imported — so the instruments are made lazily, on first use, and
every process writes its own file there; ``/metrics`` adds them up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from tickets.model import Status, Ticket

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

TIMED_STEPS = frozenset({Status.registered, Status.dispatched})

# intake → a step of the loop: from a second to a few days
STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600,
                3 * 24 * 3600, 7 * 24 * 3600)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True)
class Instruments:
    accepted: Counter
    step_seconds: Histogram
    deliveries: Counter
    notifications: Counter
    callbacks: Counter
    agi_sessions: Gauge
    http_requests: Counter
    http_seconds: Histogram


_made = threading.Lock()


def instruments() -> Instruments:
    """The process's instruments, made on first use. Thread-safe: two threads meeting the
    first use at once (a group commit answers many callers at the same moment) would
    otherwise both register them, and prometheus_client refuses the second."""
    with _made:
        return _instruments()


@cache
def _instruments() -> Instruments:
    from prometheus_client import Counter, Gauge, Histogram

    return Instruments(
        accepted=Counter("hotline_tickets_accepted_total",
                         "Tickets created from an intake, by channel", ["channel"]),
        step_seconds=Histogram("hotline_ticket_step_seconds",
                               "Seconds from intake to the first time a ticket reached a step "
                               "of the loop (registered, dispatched)", ["step"],
                               buckets=STEP_BUCKETS),
        deliveries=Counter("hotline_deliveries_total",
                           "Delivery attempts to destinations, by result "
                           "(delivered, retry, dead)", ["result"]),
        notifications=Counter("hotline_notifications_total",
                              "Messages to residents on their channel, by result", ["result"]),
        callbacks=Counter("hotline_callbacks_total",
                          "Outbound verification calls (回访), by outcome", ["outcome"]),
        agi_sessions=Gauge("hotline_agi_sessions_in_progress",
                           "FastAGI sessions (calls) being served", multiprocess_mode="livesum"),
        http_requests=Counter("hotline_http_requests_total",
                              "HTTP requests answered, by method, route template and status",
                              ["method", "route", "status"]),
        http_seconds=Histogram("hotline_http_request_duration_seconds",
                               "Seconds to answer an HTTP request, by method and route template",
                               ["method", "route"], buckets=HTTP_BUCKETS),
    )


def ticket_accepted(channel: str) -> None:
    instruments().accepted.labels(channel).inc()


def step_reached(step: str, seconds: float) -> None:
    instruments().step_seconds.labels(step).observe(max(seconds, 0.0))


def steps_reached(before: Ticket, after: Ticket) -> None:
    """Time from intake to the steps a change reached for the first time (registered,
    dispatched: a ticket handed back and dispatched again is not timed twice)."""
    reached = {h.status for h in before.history}
    for entry in after.history[len(before.history):]:
        if entry.status in TIMED_STEPS and entry.status not in reached:
            reached.add(entry.status)
            step_reached(entry.status.value, (entry.at - after.received_at).total_seconds())


def delivery(result: str) -> None:
    instruments().deliveries.labels(result).inc()


def notification(result: str) -> None:
    instruments().notifications.labels(result).inc()


def callback(outcome: str) -> None:
    instruments().callbacks.labels(outcome).inc()


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    m = instruments()
    m.http_requests.labels(method, route, str(status)).inc()
    m.http_seconds.labels(method, route).observe(seconds)


@contextmanager
def agi_session() -> Iterator[None]:
    """Count a FastAGI session as in progress while the block runs."""
    gauge = instruments().agi_sessions
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
