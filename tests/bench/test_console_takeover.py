"""The pure parts of bench/console_takeover.py: percentiles, CPU shares, the report."""

from __future__ import annotations

import math

from bench.console_takeover import cpu_percent, machine_busy, markdown, pct, summary, verdict


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.5) == 51.0 and pct(values, 0.95) == 95.0 and pct(values, 1) == 100.0
    assert math.isnan(pct([], 0.5))
    assert summary([30.0, 10.0, 20.0]) == {"n": 3, "p50_ms": 20.0, "p95_ms": 30.0,
                                           "max_ms": 30.0}
    assert summary([]) == {"n": 0}


def test_cpu_shares() -> None:
    assert cpu_percent(1.5, 10.0) == 15.0
    assert math.isnan(cpu_percent(1.0, 0.0))
    # user nice system idle iowait ...: 300 ticks of 400 busy
    assert machine_busy([0, 0, 0, 0, 0], [200, 0, 100, 80, 20]) == 75.0


def test_verdict_against_the_goal() -> None:
    assert verdict({"p95_ms": 120.0}, 500) == "meets the goal (p95 ≤ 500 ms)"
    assert verdict({"p95_ms": 501.0}, 500).startswith("misses")
    assert verdict({"n": 0}, 500) == "no data"


def test_markdown_names_every_figure() -> None:
    lat = {"n": 20, "p50_ms": 20.0, "p95_ms": 40.0, "max_ms": 50.0}
    report = {
        "date": "2026-12-01T00:00:00Z", "machine": "2 CPUs", "cpus": 2,
        "load_average_start": "1.0 1.0 1.0", "load_average_end": "1.2 1.0 1.0",
        "takeover": {"attempted": 24, "completed": 24, "machine_busy_percent": 50.0,
                     "http": lat, "agent_called": lat, "ringing": lat, "screenpop": {"n": 0}},
        "partial_quiet": {**lat, "machine_busy_percent": 40.0},
        "load": {"calls": 200, "pages": 20, "partial_interval_s": 1.0, "seconds": 30.0,
                 "idle_cpu_percent": 0.5, "idle_rss_mb": 120.0, "cpu_percent": 35.0,
                 "rss_mb_end": 130.0, "rss_mb_peak": 131.0, "published_partials": 6000,
                 "bytes_to_pages": 10_000_000, "pages_dropped": 0,
                 "machine_busy_percent": 90.0, "partial": {**lat, "p95_ms": 400.0}},
    }
    text = markdown(report)
    assert "24/24 takeovers" in text and "**operator leg ringing**" in text
    assert "| 20 | 20.0 ms | 40.0 ms | 50.0 ms |" in text
    assert "Ringing: meets the goal (p95 ≤ 500 ms)" in text
    assert "Loaded: misses the goal (p95 ≤ 300 ms)" in text
    assert "| loaded, over 30.0 s | 35.0 % | 130.0 MB (peak 131.0 MB) |" in text
    assert "| the screen-pop on the operator's stream | 0 | - ms |" in text
