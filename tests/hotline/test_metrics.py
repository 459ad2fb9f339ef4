"""``/metrics``: closed by its own token, Prometheus text format, the instruments every room
feeds (tickets accepted, intake → step, HTTP by route template), the state read at scrape time
from the store and a real Redis (outbox, deliveries, RQ queues, live recognition), the rates of
tickets.rates, no ids or phone numbers anywhere, and multiprocess sums across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from starlette.testclient import TestClient

from hotline import metrics_state
from hotline.app import create_app
from hotline.settings import Settings
from tests.support.services import RedisServer
from tickets import apikeys, rediskeys
from tickets.apikeys import Scope
from tickets.events import TicketEvent, apply_event
from tickets.model import Destination, HistoryEntry, Routing, Status, Ticket
from tickets.queues import QueueName, queue
from tickets.store import Store

TOKEN = "metrics-token-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REPO = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(store: Store, tmp_path: Path, redis_server: RedisServer) -> Iterator[TestClient]:
    settings = Settings(env="development", data_dir=tmp_path, metrics_token=TOKEN,
                        _env_file=None)
    with TestClient(create_app(settings, store=store, redis_url=redis_server.url)) as c:
        yield c


def scrape(client: TestClient) -> str:
    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text


def test_closed_to_the_public(client: TestClient, store: Store, tmp_path: Path) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    off = Settings(env="development", data_dir=tmp_path, _env_file=None)
    with TestClient(create_app(off, store=store, redis_url="")) as c:
        r = c.get("/metrics", headers=AUTH)
        assert r.status_code == 503 and "HOTLINE_METRICS_TOKEN" in r.json()["error"]["message"]


def test_instruments_and_state(client: TestClient, store: Store, redis_server: RedisServer,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    # this test reads state it has just changed: no snapshot kept between scrapes
    monkeypatch.setattr(metrics_state, "SNAPSHOT_SECONDS", 0.0)
    monkeypatch.setattr(metrics_state, "RATES_SECONDS", 0.0)
    before = scrape(client)
    _, tok = apikeys.create(store.db, "t", frozenset(Scope))
    r = client.post("/api/v1/intake", headers={"Authorization": f"Bearer {tok}"},
                    json={"channel_ref": "m-1", "text": "井盖丢失",
                          "citizen": {"phone": "+8613800138000"}})
    assert r.status_code == 201
    number = r.json()["number"]
    assert client.get(f"/api/v1/tickets/{number}").status_code == 401
    # the loop's steps, as the router and a unit would move it

    def route(t: Ticket, seq: int, now: datetime) -> Ticket:
        routing = Routing(destinations=[Destination(id="street:DS", status="delivered", at=now)],
                          respond_by=now + timedelta(hours=2),
                          resolve_by=now - timedelta(minutes=1))
        entries = [HistoryEntry(seq=seq, at=now, actor="router", status=s, from_status=f)
                   for f, s in ((Status.received, Status.registered),
                                (Status.registered, Status.dispatched))]
        return t.model_copy(update={"routing": routing, "status": Status.dispatched,
                                    "history": [*t.history, *entries]})

    store.change(number, route)
    event = TicketEvent(actor="street:DS", status=Status.in_progress)
    store.change(number, lambda t, seq, now: apply_event(t, event, seq, now))
    redis = Redis.from_url(redis_server.url)
    redis.hincrby(rediskeys.TRANSCRIPTION_METRICS, "live_admitted", 3)
    redis.hincrby(rediskeys.TRANSCRIPTION_METRICS, "live_refused", 1)
    queue(QueueName.deliver, redis).enqueue_call("tickets.jobs.no_such_job", args=("x",))
    redis.close()
    text = scrape(client)

    assert value(text, "hotline_tickets_accepted_total", channel="api") - \
        value(before, "hotline_tickets_accepted_total", channel="api") == 1
    for step in ("registered", "dispatched"):
        assert value(text, "hotline_ticket_step_seconds_count", step=step) - \
            value(before, "hotline_ticket_step_seconds_count", step=step) == 1
    assert value(text, "hotline_http_requests_total", method="GET",
                 route="/api/v1/tickets/{ticket_id}", status="401") >= 1
    assert value(text, "hotline_http_request_duration_seconds_count", method="POST",
                 route="/api/v1/intake") >= 1
    assert value(text, "hotline_metrics_source_up", source="database") == 1
    assert value(text, "hotline_metrics_source_up", source="redis") == 1
    assert value(text, "hotline_outbox_backlog") >= 1  # no relay runs here
    assert value(text, "hotline_outbox_oldest_age_seconds") >= 0
    assert value(text, "hotline_queue_jobs", queue="deliver", state="queued") == 1
    assert value(text, "hotline_queue_jobs", queue="dispatch", state="dead") == 0
    assert value(text, "hotline_live_recognition_admitted_total") == 3
    assert value(text, "hotline_live_recognition_refused_total") == 1
    assert value(text, "hotline_rate_ratio", rate="response", unit="street:DS") == 1.0
    assert value(text, "hotline_rate_ratio", rate="response", unit="all") == 1.0
    assert value(text, "hotline_overdue_tickets", unit="street:DS") == 1
    for secret in (number, "8613800138000", "13800138000", store.get(number).id):
        assert secret not in text


def test_redis_down_still_answers(store: Store, tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path, metrics_token=TOKEN,
                        _env_file=None)
    app = create_app(settings, store=store, redis_url="redis://127.0.0.1:1/0")
    with TestClient(app) as c:
        text = scrape(c)
    assert value(text, "hotline_metrics_source_up", source="redis") == 0
    assert value(text, "hotline_metrics_source_up", source="database") == 1


PROCESS = """
import sys
from tickets import metrics
for _ in range(int(sys.argv[1])):
    metrics.ticket_accepted("sms")
with metrics.agi_session():
    pass
"""
EXPOSE = """
from prometheus_client import CollectorRegistry
from hotline.metrics_http import exposition
sys_out = exposition(CollectorRegistry())
print(sys_out.decode())
"""


def test_multiprocess_sums_real_processes(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(REPO)}
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", PROCESS, count], env=env, check=True,
                       cwd=REPO, timeout=120)
    out = subprocess.run([sys.executable, "-c", EXPOSE], env=env, check=True, cwd=REPO,
                         capture_output=True, text=True, timeout=120).stdout
    assert value(out, "hotline_tickets_accepted_total", channel="sms") == 5
    assert value(out, "hotline_agi_sessions_in_progress") == 0
