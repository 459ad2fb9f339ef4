"""bench.worker_throughput: a small run measures every kind of job an intake causes on the real
worker (PostgreSQL, Redis, the Twilio and WeChat stand-ins, a webhook receiver), and its
headline reaches the summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench import summary
from bench.__main__ import benchmarks
from bench.worker_throughput import KINDS, main


def test_it_is_a_benchmark() -> None:
    assert "worker_throughput" in benchmarks()


def test_a_small_run_measures_every_kind_and_the_summary_lists_it(tmp_path: Path) -> None:
    before = {k: v for k, v in os.environ.items() if k.startswith("HOTLINE_")}
    assert main(["--intakes", "12", "--repeats", "1", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "worker_throughput.json").read_text())
    kinds = result["kinds"]
    assert set(kinds) == set(KINDS)
    assert kinds["empty"]["jobs"] == kinds["dispatch"]["jobs"] == 12
    assert kinds["empty"]["ratio_to_empty"] == 1.0
    received = result["received_by_standins"]
    # every notification job sent its message through the real client; deliveries arrived
    assert received["sms"] == kinds["notify sms"]["jobs"] >= 1
    assert received["wechat"] == kinds["notify wechat"]["jobs"] >= 1
    assert received["webhook"] >= 1
    # fewer than RQ's own heartbeats and states alone would take (tickets.workerbeat)
    assert kinds["empty"]["redis_per_job"] < 15
    rows = [r for r in summary.rows(tmp_path) if r.bench == "worker_throughput"]
    assert [r.figure.split(" jobs/s")[0] for r in rows] == ["dispatch", "notify sms",
                                                            "notify wechat"]
    # the run's settings do not outlive it (they turned later tests' WeChat to safe mode)
    assert {k: v for k, v in os.environ.items() if k.startswith("HOTLINE_")} == before
