"""The baseline machinery of bench/durable_intake.py at tiny size, on the real tools (wrk,
redis-benchmark, pgbench, SQLite, uvicorn), so that it cannot rot. No timing is asserted:
only that each limit is measured, parsed and counted right."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench import baselines, durable_intake, sampler, summary, wrk
from bench.common import free_port
from tests.support.services import PostgresServer, RedisServer, stop_process

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:1/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  100.00us   2.00ms   90.00%
    Req/Sec     4.90k   200.00     5.10k    80.00%
  Latency Distribution
     50%  750.00us
     75%    1.00ms
     90%    1.50ms
     99%    1.20s
  4900 requests in 1.00s, 600.00KB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:   4899.51
Transfer/sec:    600.00KB
hotline-sent 12 of 10
"""


def test_wrk_output_is_parsed() -> None:
    r = wrk.parse(WRK_OUTPUT)
    assert (r.requests, r.seconds, r.rps) == (4900, 1.0, 4899.5)
    assert (r.p50_ms, r.p90_ms, r.p99_ms) == (0.75, 1.5, 1200.0)
    assert (r.non_2xx, r.socket_errors, r.wrapped) == (7, 3, True)
    assert not wrk.parse(WRK_OUTPUT.replace("12 of 10", "9 of 10")).wrapped
    with pytest.raises(ValueError, match="unexpected wrk output"):
        wrk.parse("wrk: connection refused\n")


def test_raw_requests_carry_their_length() -> None:
    raw = wrk.raw_request("POST", "/api/v1/intake", "127.0.0.1:1",
                          {"content-type": "application/json", "Content-Length": "999"},
                          "{\"text\": \"井盖\"}".encode())
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /api/v1/intake HTTP/1.1\r\nHost: 127.0.0.1:1\r\n")
    assert f"Content-Length: {len(body)}".encode() in head and b"999" not in head
    with pytest.raises(ValueError, match="NUL"):
        wrk.raw_request("POST", "/", "h", {}, b"a\0b")


@pytest.fixture
def hello(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = baselines.start_hello(port, tmp_path / "hello.log")
    yield port
    stop_process(proc)


@pytest.mark.integration
def test_hello_world_under_wrk(hello: int, tmp_path: Path) -> None:
    r = baselines.hello_world(hello, connections=2, seconds=1)
    assert r.requests > 0 and r.rps > 0 and r.non_2xx == 0 and r.socket_errors == 0
    # the request file: three distinct requests cannot fill a second, so the run wraps
    raws = [wrk.raw_request("GET", f"/{i}", f"127.0.0.1:{hello}", {}) for i in range(3)]
    r = wrk.run(f"http://127.0.0.1:{hello}/", connections=1, seconds=1, requests=raws,
                workdir=tmp_path)
    assert r.requests > 3 and r.wrapped and r.non_2xx == 0


@pytest.mark.integration
def test_redis_lpush(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        r = baselines.redis_lpush(redis.socket, requests=2000, clients=4)
    finally:
        redis.stop()
    assert (r.requests, r.clients) == (2000, 4) and r.rps > 0 and r.p99_ms >= r.p50_ms


@pytest.mark.integration
def test_pg_commit_loop_counts_committed_rows(postgres: PostgresServer, tmp_path: Path) -> None:
    assert postgres.bin is not None
    db = postgres.create_database().rsplit("/", 1)[1]
    one = baselines.pg_commit_loop(postgres.bin, postgres.port, db, tmp_path, clients=1,
                                   seconds=1)
    many = baselines.pg_commit_loop(postgres.bin, postgres.port, db, tmp_path, clients=4,
                                    seconds=1)
    assert one.clients == 1 and many.clients == 4 and one.commits > 0 and many.commits > 0
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname={db}") as c:
        rows = c.execute("SELECT count(*) FROM commit_loop").fetchone()
    assert rows is not None and rows[0] == one.commits + many.commits


def test_sqlite_commit_loop_counts_committed_rows(tmp_path: Path) -> None:
    import sqlite3

    loop = baselines.sqlite_commit_loop(tmp_path / "c.sqlite3", seconds=0.2)
    with sqlite3.connect(tmp_path / "c.sqlite3") as c:
        assert c.execute("SELECT count(*) FROM commit_loop").fetchone()[0] == loop.commits
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert loop.commits > 0 and loop.commits_per_s > 0


def test_pgbench_and_redis_outputs_are_parsed() -> None:
    loop = baselines.parse_pgbench(
        "number of clients: 4\nduration: 5 s\n"
        "number of transactions actually processed: 1234\nlatency average = 1.500 ms\n"
        "tps = 246.800000 (without initial connection time)\n", 4)
    assert (loop.commits, loop.commits_per_s, loop.latency_avg_ms, loop.seconds) == \
        (1234, 246.8, 1.5, 5.0)
    r = baselines.parse_redis_csv(
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
        '"p99_latency_ms","max_latency_ms"\n'
        '"LPUSH","50000.00","0.100","0.010","0.090","0.200","0.300","1.000"\n')
    assert (r.rps, r.p50_ms, r.p99_ms) == (50000.0, 0.09, 0.3)


def _waits_here(stop: threading.Event) -> None:
    stop.wait(5)


def test_sampler_sees_where_a_thread_waits() -> None:
    stop = threading.Event()
    t = threading.Thread(target=_waits_here, args=(stop,), name="AnyIO worker thread")
    t.start()
    s = sampler.Sampler(0.001)
    try:
        for _ in range(20):
            s.sample()
            time.sleep(0.001)
    finally:
        stop.set()
        t.join()
    report = sampler.summarize(s.stacks, s.ticks, s.interval)
    assert report["ticks"] == 20 and report["samples"]["worker"] == 20  # type: ignore[index]
    worker = {x["function"]: x["share"]
              for x in report["inclusive"]["worker"]}  # type: ignore[index]
    assert worker["_waits_here (bench/test_baselines.py)"] == 1.0
    assert sampler.function_of("Store.submit (tickets/store.py:190)") == \
        "Store.submit (tickets/store.py)"
    assert sampler.thread_kind("MainThread") == "event loop"


def test_intake_samples_are_classified_by_the_first_part_in_their_stack() -> None:
    base = ["Thread._bootstrap_(python3.11/threading.py:1)", "WorkerThread.run_(x/y.py:2)",
            "Store.submit_(tickets/store.py:190)"]
    assert summary.classify([*base, "Database.write_(tickets/db.py:92)"]) == summary.LOCK_WAIT
    assert summary.classify([*base, "Store._insert_(tickets/store.py:201)",
                             "next_seq_(tickets/counters.py:40)", "_bump_(tickets/counters.py:30)"]
                            ).startswith("waiting for the seq counter row")
    assert summary.classify([*base, "Store.find_by_ref_(tickets/store.py:242)",
                             "Engine.connect_(engine/base.py:1)"]).startswith("idempotency read")
    assert sampler.is_idle(["WorkerThread.run (_backends/_asyncio.py:9)",
                            "Queue.get (python3.11/queue.py:1)",
                            "Condition.wait (python3.11/threading.py:327)"])
    assert sampler.is_idle(["Runner.run (asyncio/runners.py:118)"])
    assert not sampler.is_idle([f.replace("_(", " (") for f in base])


def test_summary_lists_missing_results_and_missed_targets(tmp_path: Path) -> None:
    (tmp_path / "agi_sessions.json").write_text(json.dumps({"runs": [
        {"sessions": 1000, "rtt_ms_p99": 9.5, "protocol_rtt_ms_p99": 2.0,
         "rss_mb_peak": 120.0}]}))
    text = summary.markdown(tmp_path)
    assert "| router | - | - | - | no results |" in text
    assert "| agi_sessions | 1000 FastAGI sessions: command round trip p99 | 9.5 ms" \
        " (protocol only 2.0 ms) | 1,000 sessions, p99 ≤ 5 ms | **MISSED** |" in text
    assert "| agi_sessions | 1000 FastAGI sessions: peak RSS | 120.0 MB | ≤ 300 MB | met |" \
        in text
    assert "**1 target(s) missed**" in text


@pytest.mark.integration
@pytest.mark.slow
def test_durable_intake_end_to_end_at_tiny_size(tmp_path: Path) -> None:
    """The whole bench on SQLite: limits, intake under wrk, half load, the sampled profile,
    the results files and the summary."""
    out = tmp_path / "results"
    assert durable_intake.main([
        "--stores", "sqlite", "--repeats", "1", "--seconds", "1", "--half-seconds", "0.5",
        "--commit-seconds", "1", "--profile-seconds", "1", "--redis-requests", "1000",
        "--connections", "2", "--out", str(out)]) == 0
    result = json.loads((out / "durable_intake.json").read_text())
    rep = result["repeats"][0]
    for path in durable_intake.PATHS:
        run = rep[f"sqlite/{path}"]
        assert run["requests"] > 0 and run["non_2xx"] == 0 and not run["wrapped"]
        assert run["ratio"] == round(run["rps"] / rep["hello"]["rps"], 4)
        assert all(h["errors"] == 0 and h["ok"] > 0 for h in result["half_load"][f"sqlite/{path}"])
    # every acknowledged request is a committed ticket with its outbox row (requests cut by
    # the end of a wrk run may have committed without their answer being counted)
    tickets, outbox_rows = result["counts"]["sqlite"]
    acked = sum(rep[f"sqlite/{p}"]["requests"] for p in durable_intake.PATHS) + sum(
        h["ok"] for k in result["half_load"] for h in result["half_load"][k])
    assert tickets >= acked and outbox_rows >= tickets
    base = json.loads((out / "baselines.json").read_text())
    assert base["hello_asgi_rps"] > 0 and base["pg_commit_1_client_per_s"] > 0
    profile = json.loads((out / "durable_intake_profile_sqlite" / "profile.json").read_text())
    workers = Counter({x["function"]: x["samples"] for x in profile["inclusive"]["worker"]})
    assert workers["Store.submit (tickets/store.py)"] > 0
    text = (out / "summary.md").read_text()
    assert "sqlite/api req/s as a share of bare ASGI" in text and "## Where the durable" in text


def test_the_helpers_are_not_benchmarks_and_the_intake_bench_is() -> None:
    from bench.__main__ import benchmarks

    names = set(benchmarks())
    assert "durable_intake" in names
    assert not names & {"hello_asgi", "wrk", "baselines", "sampler", "summary"}
