"""The console's browser softphone carries a resident's call both ways: real Asterisk 22 (the
harness's chroot), real headless Chromium with JsSIP over WebSocket, WebRTC with DTLS-SRTP.

Why a network namespace. Asterisk never offers a 127.x ICE candidate (hard-coded in
res_rtp_asterisk), and Chromium ignores loopback interfaces for WebRTC, so a call between two
programs that only share 127.0.0.1 signals but never carries audio. The test therefore makes a
namespace of its own (``ip netns add hotline-wrtc-<random>``) with ``lo`` and a veth pair whose
one end has ``10.77.<n>.1/24``: to both Asterisk and Chromium that is an ordinary network
interface, like a LAN card, so no ``--allow-loopback-in-peer-connection`` is needed and the
selected ICE pair is host <-> host on that address. Nothing on the host's network changes, the
namespace (and the veth with it) is deleted at teardown, and nothing in it can reach any other
network.

How. The scenario runs as a subprocess inside the namespace
(``ip netns exec NS python -m tests.integration.console.softphone_scenario``), so that Asterisk
(started by the harness, its HTTP server and so ``/ws`` on the namespace's address), the page's
HTTP server (127.0.0.1, a secure context for the microphone) and Chromium all live there. The
scenario only measures (see its docstring for the steps) and writes ``result.json``; this test
judges that file and keeps everything the scenario made (screenshots, the recorded audio
windows, Asterisk's log, the page's console) in ``test-artifacts/softphone/``.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import require_root

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "softphone"
BUNDLE = REPO / "console" / "static" / "vendor" / "jssip.min.js"
CHROMIUM = Path("/usr/bin/chromium")
SCENARIO = "tests.integration.console.softphone_scenario"
SCENARIO_TIMEOUT = 180  # seconds; it takes about 25

# RMS on the 16-bit scale of what the resident hears / says (the speech itself is ~2800).
SPEECH_RMS = 300.0
SILENCE_RMS = 100.0

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.browser]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def network_namespace() -> Iterator[tuple[str, str]]:
    """A private namespace with lo and a veth pair (one end 10.77.<n>.1/24); its name and that
    address. Deleted afterwards, with the veth pair in it."""
    name = f"hotline-wrtc-{secrets.token_hex(4)}"
    address = f"10.77.{random.randrange(1, 255)}.1"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "wrtc0", "type", "veth", "peer", "name", "wrtc1")
        _ip("-n", name, "addr", "add", f"{address}/24", "dev", "wrtc0")
        _ip("-n", name, "link", "set", "wrtc0", "up")
        _ip("-n", name, "link", "set", "wrtc1", "up")
        yield name, address
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def run_scenario(out: Path) -> tuple[dict[str, Any], str]:
    out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with network_namespace() as (name, address):
        try:
            done = subprocess.run(
                ["ip", "netns", "exec", name, sys.executable, "-m", SCENARIO,
                 "--out", str(out), "--address", address],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT,
                check=False,
            )
            status, stdout, stderr = f"exit {done.returncode}", done.stdout, done.stderr
        except subprocess.TimeoutExpired as e:  # killed; Asterisk and Chromium die with it
            status, stdout, stderr = f"killed after {SCENARIO_TIMEOUT} s", str(e.stdout), str(
                e.stderr)
    log = f"{status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    (out / "scenario.log").write_text(log)
    shutil.rmtree(out / "work", ignore_errors=True)
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    shutil.copytree(out, ARTIFACTS)
    result_file = out / "result.json"
    result: dict[str, Any] = (json.loads(result_file.read_text()) if result_file.exists()
                              else {"error": "the scenario wrote no result.json"})
    return result, log


def test_resident_and_operator_browser_hear_each_other(tmp_path: Path) -> None:
    require_root("the scenario needs root (network namespace, the Asterisk chroot)")
    assert CHROMIUM.exists(), "Debian chromium is not installed: run 'make deps'"
    assert BUNDLE.exists(), f"{BUNDLE} is missing: run 'make softphone'"

    result, log = run_scenario(tmp_path / "out")
    assert "error" not in result, result.get("error", "") + log
    timings = {key: result[key] for key in ("register_ms", "microphone_ms", "call_1",
                                            "call_2", "hangup")}
    print("softphone timings:", json.dumps(timings, ensure_ascii=False))

    # Registered over WebSocket, under a CSP that allows no inline script and no eval.
    assert [line for line in result["contacts_cli"] if "op-test/sip:" in line], result
    [contact] = result["contacts"]
    assert contact["Endpoint"] == "op-test" and "transport=ws" in contact["Uri"], contact
    assert contact["UserAgent"] == "96010-console-softphone", contact
    assert contact["Status"] == "Reachable", contact  # it answers Asterisk's OPTIONS too
    assert result["csp_violations"] == []
    assert result["microphone"] is True  # prepareMicrophone() (the console calls it at login)
    assert "(Not in use)" in "\n".join(result["queue_before"])

    # The queue rang the browser, which answered; ICE + DTLS-SRTP up over the veth address.
    stats = result["stats_talk_end"]
    assert stats["transport"]["dtlsState"] == "connected"
    assert stats["transport"]["srtpCipher"], stats
    assert stats["codec"] == "audio/opus/48000"
    assert stats["local"].endswith(" host") and not stats["local"].startswith("127."), stats

    # Two-way audio: the operator's browser received and decoded the resident's speech ...
    windows = result["windows"]
    talk = windows["talk"]
    assert talk["said_rms"] > SPEECH_RMS, talk
    assert talk["page"]["bytes_received"] > 4000 and talk["page"]["audio_energy"] > 0.01, talk
    # ... and the resident heard the operator's (fake) microphone.
    assert talk["heard_rms"] > SPEECH_RMS, talk

    # Mute silences the operator for the resident; unmute brings the voice back.
    assert windows["muted"]["heard_rms"] < min(SILENCE_RMS, talk["heard_rms"] / 10), windows
    assert windows["unmuted"]["heard_rms"] > SPEECH_RMS, windows
    # Hold: Asterisk accepts the re-INVITE and stops sending to the browser, the resident no
    # longer hears the operator; unhold restores both directions.
    assert windows["held"]["heard_rms"] < SILENCE_RMS, windows
    assert windows["held"]["page"]["bytes_received"] < 1000, windows
    assert windows["unheld"]["heard_rms"] > SPEECH_RMS, windows
    assert windows["unheld"]["page"]["audio_energy"] > 0.01, windows
    assert {"holddone", "unholddone", "muted", "unmuted"} <= set(result["page_events"])

    # Hanging up in the page ends the resident's call.
    hangup = result["hangup"]
    assert hangup["resident_ended"] and hangup["page_call"] == "idle", hangup
    assert hangup["resident_ended_ms"] < 3000, hangup

    # A blind transfer to 96010 puts the resident back into the 96010 flow (here its
    # fallback, since no FastAGI server runs) and frees the operator.
    transfer = result["transfer"]
    assert transfer["outcome"] == "accepted", transfer
    assert transfer["in_96010_flow"] and transfer["resident_still_up"], transfer
    assert [e for e in transfer["spool"] if e.get("caller") == "13800138000"], transfer
    assert transfer["page_idle"], transfer
