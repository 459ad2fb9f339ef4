"""The small chaos run (issue 22): about 1,000 intakes over every text channel into the
production shape (PostgreSQL, Redis with its append-only file, two ``hotline serve``, two
workers, the relay, the spool ingester) while both HTTP processes, a worker and the relay are
SIGKILLed and Redis and PostgreSQL restarted. Nothing acknowledged is lost, nothing doubled,
every ticket registered, nothing left in the outbox or the queues. ``make chaos`` is the
large run (bench/results/chaos.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench.chaos import report
from bench.chaos.run import run
from bench.chaos.schedule import SMALL

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_thousand_intakes_under_faults_lose_and_double_nothing() -> None:
    # Not under pytest's tmp folder: that one is private to root, and postgres runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="chaos-test-"))
    try:
        result = run(root, count=1000, concurrency=16, max_seconds=600, faults=SMALL,
                     repeat=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = report.markdown(result)
    a = result["audit"]
    done = [e["name"] for e in result["timeline"] if "by itself" not in e["name"]]
    assert done == [f.name for f in SMALL], text
    assert not [e for e in result["timeline"] if e["note"].startswith("fault failed")], text
    assert a["intakes"] == 1000, text
    assert (a["lost"], a["duplicated"], a["unexpected"], a["number_mismatch"]) == (0, 0, 0, 0), \
        text
    assert a["acknowledged"] > 900, text  # the provider's retries got nearly all through
    assert a["not_registered"] == 0 and a["tickets"] >= a["acknowledged"], text
    end = result["end_state"]
    assert (end["outbox_due"], end["queued"], end["failed_jobs"]) == (0, 0, []), text
    assert result["valid"], text
