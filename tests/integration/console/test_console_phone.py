"""The console's own page, as operators get it, takes a live call over with two-way audio: a
real gateway (``hotline serve`` with default settings but the WebSocket URL and the AMI link),
a real Asterisk 22, Debian's Chromium with the board's own softphone (JsSIP, WebRTC,
DTLS-SRTP) registering with the console's default SIP domain, in a network namespace made for
the test (see test_softphone_webrtc.py for why). The scenario
(``console_phone_scenario.py``) measures; this test judges, and keeps the screenshots (the
board with a live call, ringing, in call), the recordings and the logs in
``test-artifacts/console-phone/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from console.config import DEFAULT_SIP_DOMAIN
from tests.integration.console.test_softphone_webrtc import (
    BUNDLE,
    CHROMIUM,
    SILENCE_RMS,
    SPEECH_RMS,
    network_namespace,
)
from tests.support.services import require_root

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "console-phone"
SCENARIO = "tests.integration.console.console_phone_scenario"
SCENARIO_TIMEOUT = 240  # seconds; it takes about 40

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


def test_an_operator_takes_a_live_call_over_in_the_consoles_own_softphone(
        tmp_path: Path) -> None:
    require_root("the scenario needs root (network namespace, the Asterisk chroot)")
    assert CHROMIUM.exists(), "Debian chromium is not installed: run 'make deps'"
    assert BUNDLE.exists(), f"{BUNDLE} is missing: run 'make softphone'"

    result, log = run_scenario(tmp_path / "out")
    assert "error" not in result, result.get("error", "") + log
    print("console phone:", json.dumps({k: result.get(k) for k in (
        "answer_to_media_s", "talk")}, ensure_ascii=False))

    # `hotline operator add` wrote the endpoint and Asterisk loaded it.
    assert any("op-alice" in line for line in result["endpoint"]), result["endpoint"]
    # The board's softphone registered with the console's default domain, with no error shown.
    assert result["softphone_domain"] == DEFAULT_SIP_DOMAIN
    # it registered with the endpoint's digest (HA1 and realm): the page has no SIP password
    assert result["softphone_credentials"] == ["ha1", "realm"]
    assert result["phone_error_hidden"] is True
    [contact] = result["contacts"]
    assert contact["Endpoint"] == "op-alice" and "transport=ws" in contact["Uri"], contact
    assert contact["UserAgent"] == "96010-console-softphone", contact
    assert any("PJSIP/op-alice" in line for line in result["queue"]), result["queue"]

    # the live transcript carries the model's language (the tests load the Korean model)
    assert result["model_marker"] == "非中文模型（韩语）：转写不可信"
    # 接管 took the call from the IVR; the queue rang the browser; 接听 connected it.
    assert "已接管，工单" in result["takeover_message"]
    assert result["phone_caller"], result
    stats = result["stats"]
    assert stats["transport"]["dtlsState"] == "connected" and stats["transport"]["srtpCipher"]
    assert stats["local"].endswith(" host") and not stats["local"].startswith("127."), stats

    # Heard both ways: the browser decoded the resident's speech, the resident heard the
    # operator's microphone.
    talk = result["talk"]
    assert talk["said_rms"] > SPEECH_RMS, talk
    assert talk["page_bytes_received"] > 4000 and talk["page_audio_energy"] > 0.01, talk
    assert talk["heard_rms"] > SPEECH_RMS > SILENCE_RMS, talk

    # the resident was a real SIP call (SIPp, A-law RTP from a pcap) through the real IVR
    assert "+86138****8000" in result["board_row"] or "138****8000" in result["board_row"]
    assert result["resident_channel"].startswith("PJSIP/carrier-")
    # 挂断 in the page ended the resident's call.
    assert result["hangup"] == {"resident_ended": True, "page_call": "idle"}, result["hangup"]
