"""A scrape during a burst never blocks intake: a real server (uvicorn over TCP) takes a burst
of JSON intakes from several clients while /metrics is scraped in a loop, every snapshot read
afresh from the store. Every intake is acknowledged and stored exactly once; the scrapes all
answer. (Latency figures are for bench/, not asserted here.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn

from hotline import metrics_state
from hotline.app import create_app
from hotline.settings import Settings
from tests.support.services import free_port, wait_until
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.store import Store

TOKEN = "metrics-token-0123456789abcdef0123456789abcdef"
CLIENTS, EACH = 8, 25


@pytest.fixture
def base_url(sqlite_store: Store, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(metrics_state, "SNAPSHOT_SECONDS", 0.0)
    monkeypatch.setattr(metrics_state, "RATES_SECONDS", 0.0)
    settings = Settings(env="development", data_dir=tmp_path, metrics_token=TOKEN,
                        rate_limits=False, _env_file=None)
    app = create_app(settings, store=sqlite_store, redis_url="")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-metrics", daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_scrapes_during_a_burst(base_url: str, sqlite_store: Store) -> None:
    _, key = apikeys.create(sqlite_store.db, "burst", frozenset({Scope.intake}))
    done = threading.Event()
    scrapes: list[int] = []

    def scrape() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            while not done.is_set():
                scrapes.append(c.get("/metrics", headers={
                    "Authorization": f"Bearer {TOKEN}"}).status_code)

    def send(n: int) -> list[int]:
        with httpx.Client(base_url=base_url, timeout=60,
                          headers={"Authorization": f"Bearer {key}"}) as c:
            return [c.post("/api/v1/intake", json={"channel_ref": f"b-{n}-{i}",
                                                   "text": "路灯不亮"}).status_code
                    for i in range(EACH)]

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for batch in pool.map(send, range(CLIENTS)) for s in batch]
    finally:
        done.set()
        scraper.join(60)
    assert statuses == [201] * (CLIENTS * EACH)
    assert len(sqlite_store.feed(0, 10_000)) == CLIENTS * EACH
    assert scrapes and set(scrapes) == {200}
