"""The small chaos run (issue 22): about 1,000 intakes over every text channel into the
production shape (PostgreSQL, Redis with its append-only file, two ``hotline serve``, two
workers, the relay, the spool ingester) while both HTTP processes, a worker and the relay are
SIGKILLed and Redis and PostgreSQL restarted; meanwhile 12 SIPp callers leave a message through
the IVR (a real Asterisk, two ``hotline agi``) and the primary ``hotline agi`` is SIGKILLed
while one of them speaks. Nothing acknowledged is lost, nothing doubled, every ticket
registered, nothing left in the outbox or the queues; every recorded call is one ticket, the
caller cut mid-message keeps what was said as a ticket, every message is transcribed.
``make chaos`` is the large run (bench/results/chaos.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench.chaos import report
from bench.chaos.run import run
from bench.chaos.schedule import SMALL_CALLS
from tests.support.services import require_root

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]
CALLS = 12


def test_a_thousand_intakes_under_faults_lose_and_double_nothing() -> None:
    require_root()  # PostgreSQL runs as postgres; Asterisk in its chroot
    # Not under pytest's tmp folder: that one is private to root, and postgres runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="chaos-test-"))
    try:
        result = run(root, count=1000, concurrency=16, max_seconds=600, faults=SMALL_CALLS,
                     repeat=False, calls=CALLS, call_concurrency=3)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = report.markdown(result)
    a = result["audit"]
    done = [e["name"] for e in result["timeline"] if "by itself" not in e["name"]]
    assert done == [f.name for f in SMALL_CALLS], text
    assert not [e for e in result["timeline"] if e["note"].startswith("fault failed")], text
    assert a["intakes"] == 1000, text
    assert (a["lost"], a["duplicated"], a["unexpected"], a["number_mismatch"]) == (0, 0, 0, 0), \
        text
    assert a["acknowledged"] > 900, text  # the provider's retries got nearly all through
    assert a["not_registered"] == 0 and a["tickets"] >= a["acknowledged"], text
    end = result["end_state"]
    assert (end["outbox_due"], end["queued"], end["failed_jobs"]) == (0, 0, []), text
    c = result["calls"]
    assert c["calls"] == CALLS and c["kills"] == 1, text
    assert c["kills_mid_message"] == 1 and c["cut_speaking"] >= 1, text  # a caller was cut
    assert c["cut_kept"] == c["cut_speaking"], text  # ... and kept what was said as a ticket
    assert (c["lost"], c["duplicated"], c["cut_lost"], c["unexpected"]) == (0, 0, 0, 0), text
    assert c["recorded"] >= CALLS // 2 and c["failed"] == 0, text
    assert c["transcript_missing"] == 0 and c["transcribed"] >= c["recorded"], text
    assert result["valid"], text
