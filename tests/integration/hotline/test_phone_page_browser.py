"""The residents' web phone (/phone) calls 96010 from Debian's Chromium: JsSIP over a real
Asterisk 22's WebSocket as the endpoint resident-web, the production IVR over FastAGI (``hotline
agi``), keypad tones (RFC 4733) choosing 3 投诉, the microphone's Mandarin recorded into a
ticket. In a network namespace, as the console's WebRTC tests (see test_softphone_webrtc.py for
why). Screenshots of the page and the logs stay in ``test-artifacts/phone/``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.console.test_softphone_webrtc import BUNDLE, CHROMIUM, network_namespace
from tests.support.services import require_root

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "phone"
SCENARIO = "tests.integration.hotline.phone_scenario"
SCENARIO_TIMEOUT = 300

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.browser]


def run_scenario(out: Path) -> tuple[dict[str, Any], str]:
    out.mkdir(parents=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
           "PYTHONPATH": str(REPO)}
    with network_namespace() as (name, address):
        try:
            done = subprocess.run(
                ["ip", "netns", "exec", name, sys.executable, "-m", SCENARIO,
                 "--out", str(out), "--address", address],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT,
                check=False)
            status, stdout, stderr = f"exit {done.returncode}", done.stdout, done.stderr
        except subprocess.TimeoutExpired as e:
            status, stdout, stderr = (f"killed after {SCENARIO_TIMEOUT} s", str(e.stdout),
                                      str(e.stderr))
    log = f"{status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    (out / "scenario.log").write_text(log)
    shutil.rmtree(out / "work", ignore_errors=True)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    shutil.copytree(out, ARTIFACTS)
    result_file = out / "result.json"
    result: dict[str, Any] = (json.loads(result_file.read_text()) if result_file.exists()
                              else {"error": "the scenario wrote no result.json"})
    return result, log


def test_a_resident_calls_96010_from_the_phone_page(tmp_path: Path) -> None:
    require_root("the scenario needs root (network namespace, the Asterisk chroot)")
    assert CHROMIUM.exists(), "Debian chromium is not installed: run 'make deps'"
    assert BUNDLE.exists(), f"{BUNDLE} is missing: run 'make softphone'"

    result, log = run_scenario(tmp_path / "out")
    assert "error" not in result, result.get("error", "") + log
    print("phone page:", json.dumps({k: result.get(k) for k in (
        "dial_to_media_s", "call_s", "heard_ivr", "recording")}, ensure_ascii=False))
    assert result["limits_shown"] is True
    assert result["keys"] == "3#"
    # the browser heard the IVR (its prompts, decoded)
    heard = result["heard_ivr"]
    assert heard["bytes_received"] > 4000 and heard["audio_energy"] > 0.001, heard
    stats = result["stats"]
    assert stats["transport"]["dtlsState"] == "connected", stats
    # the IVR understood the keypad and recorded the microphone into a complaint
    [ticket] = result["tickets"]
    assert ticket["kind"] == "complaint" and ticket["channel"] == "voice", ticket
    assert ticket["ref"].startswith("testpbx/") and ticket["audio"], ticket
    assert result["recording"]["seconds"] > 3 and result["recording"]["rms"] > 300, result
    assert result["page_error"] == ""
