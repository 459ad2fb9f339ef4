"""The browser softphone scenario, run INSIDE a network namespace by ``test_softphone_webrtc.py``
(``ip netns exec NS python -m tests.integration.console.softphone_scenario --out DIR
--address A``). It measures and records; it asserts nothing: the outer test judges
``DIR/result.json`` and keeps ``DIR`` as artifacts.

Everything lives in the namespace: a real Asterisk from the harness (its HTTP server, so SIP
over WebSocket, on ``A``, the namespace's non-loopback address), a tiny HTTP server for the test
page on 127.0.0.1 (a secure context, so the page may use the microphone) and headless Chromium
with a fake microphone playing Mandarin speech.

1. The page loads ``vendor/jssip.min.js`` + ``softphone.js`` under a strict CSP and registers
   as ``op-test`` over ``ws://A:PORT/ws``; ``pjsip show contacts`` must list it.
2. AMI ``QueueAdd PJSIP/op-test`` to ``operators-96010`` (what the console does), then a
   resident: a Local channel into the production ``hotline-96010,operator`` step (the queue)
   whose other end, ``caller-sim``, plays Mandarin speech. The queue rings the browser, the
   page answers by itself (``autoAnswer``), ICE and DTLS connect.
3. Audio windows recorded by AMI ``MixMonitor`` on the resident's channel, ``r()`` = what the
   resident hears (the operator's fake microphone), ``t()`` = what the resident says: talk,
   muted, unmuted, on hold, off hold. The page's ``getStats()`` around the talk window shows
   what the browser received and decoded.
4. The page hangs up: the resident's channel must end.
5. A second call: the page transfers the resident (REFER) to ``96010``; the resident must land
   in the 96010 flow (no FastAGI server here, so the dialplan's fallback spool entry proves it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

from ivr.wavinfo import wav_info
from tests.support.ami import Ami
from tests.support.asterisk import Asterisk, read_kv, wav_complete
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[3]
STATIC = REPO / "console" / "static"
HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"

RESIDENT_TEXT = ("您好，我家楼下的下水道堵了三天了，污水流到了马路上，"
                 "地址是东城区东四十条甲一号，请尽快派人来处理。")
OPERATOR_TEXT = ("您好，这里是九六零一零便民服务热线，我是接线员。"
                 "您反映的问题我已经记录下来了，我们会尽快派人处理。")

# Audio windows on the resident's channel: (name, page action before it, seconds).
WINDOWS: tuple[tuple[str, str | None, float], ...] = (
    ("talk", None, 3.0),
    ("muted", "mute", 1.5),
    ("unmuted", "unmute", 1.5),
    ("held", "hold", 1.5),
    ("unheld", "unhold", 1.5),
)
SETTLE = 0.4  # seconds after a page action before its window starts (jitter buffers drain)


def epoch_ms() -> float:
    return time.time() * 1000.0


def speech(path: Path, text: str, rate: int) -> Path:
    """Mandarin speech (espeak-ng ``cmn``) as a 16-bit mono WAV at ``rate`` Hz."""
    raw = path.with_name(path.stem + ".raw.wav")
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "170", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)],
                   check=True)
    raw.unlink()
    return path


# ------------------------------------------------------------------------------ the page


def page_html(config: dict[str, Any]) -> bytes:
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>96010 softphone test</title>
<link rel="stylesheet" href="/test/page.css">
<script type="application/json" id="softphone-config">{data}</script>
<script src="/test/page.js"></script>
<script src="/static/vendor/jssip.min.js"></script>
<script src="/static/softphone.js"></script>
</head>
<body>
<h1>96010 接线员软电话 (test page)</h1>
<table id="state"></table>
<audio id="softphone-audio" autoplay></audio>
<ol id="log"></ol>
</body>
</html>
""".encode()


class PageServer:
    """A few fixed files over HTTP on 127.0.0.1 with a strict Content-Security-Policy."""

    def __init__(self, files: dict[str, tuple[str, bytes]], csp: str) -> None:
        self.files = files
        self.csp = csp
        self.port = free_port()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                entry = server.files.get(self.path.split("?", 1)[0])
                if entry is None:
                    self.send_error(404)
                    return
                kind, body = entry
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Security-Policy", server.csp)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------ the scenario


@dataclass
class Scenario:
    out: Path
    address: str
    result: dict[str, Any] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)

    def note(self, key: str, value: Any) -> None:
        self.result[key] = value

    def run(self) -> None:
        began = time.monotonic()
        work = self.out / "work"
        shared = work / "shared"
        rec = shared / "rec"
        rec.mkdir(parents=True)
        resident = speech(shared / "resident.wav", RESIDENT_TEXT, 8000)
        operator = speech(self.out / "operator-mic-48k.wav", OPERATOR_TEXT, 48000)
        self.note("resident_speech", {"seconds": wav_info(resident).duration,
                                      "rms": wav_info(resident).rms})
        self.note("operator_speech", {"seconds": wav_info(operator).duration,
                                      "rms": wav_info(operator).rms})
        ast = Asterisk(work / "ast", agi_port=free_port(), shared_dir=shared,
                       http_address=self.address,
                       overrides={"queues-96010-members.conf": "; members join by AMI\n"})
        ast.start()
        self.note("asterisk_boot_s", ast.boot_seconds)
        try:
            with self._page_server(ast) as server, self._browser(operator) as context:
                page = context.new_page()
                page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
                self._register(ast, server, page)
                self._answered_call(ast, page, rec, resident)
                self._transferred_call(ast, page, resident)
                self.note("csp_violations", page.evaluate("window.softphonePage.violations"))
                self.note("page_events", page.evaluate("window.softphonePage.events"))
                self.note("page_requests", server.requests)
        finally:
            ast.stop()
            self.note("scenario_s", round(time.monotonic() - began, 2))
            self._keep_logs(ast)

    @contextmanager
    def _page_server(self, ast: Asterisk) -> Iterator[PageServer]:
        ws = f"ws://{self.address}:{ast.http_port}/ws"
        config = {"server": ws, "user": ast.operator, "password": ast.operator_password,
                  "displayName": "测试接线员", "autoAnswer": True,
                  "audioElement": "softphone-audio", "iceServers": []}
        files = {
            "/": ("text/html; charset=utf-8", page_html(config)),
            "/test/page.js": ("text/javascript", (HERE / "softphone_page.js").read_bytes()),
            "/test/page.css": ("text/css", (HERE / "softphone_page.css").read_bytes()),
            "/static/softphone.js": ("text/javascript",
                                     (STATIC / "softphone.js").read_bytes()),
            "/static/vendor/jssip.min.js": ("text/javascript",
                                            (STATIC / "vendor" / "jssip.min.js").read_bytes()),
        }
        csp = (f"default-src 'none'; script-src 'self'; style-src 'self'; "
               f"connect-src {ws}; media-src 'self' blob:; base-uri 'none'; form-action 'none'")
        self.note("csp", csp)
        with PageServer(files, csp) as server:
            yield server

    @contextmanager
    def _browser(self, fake_mic: Path) -> Iterator[BrowserContext]:
        profile = self.out / "work" / "chromium-profile"  # fresh: the work folder is new
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True,
                viewport={"width": 640, "height": 560},
                args=[
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync",
                    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={fake_mic}",
                    "--autoplay-policy=no-user-gesture-required",
                ],
            )
            try:
                yield context
            finally:
                context.close()

    # ---------------------------------------------------------------------- steps

    def _register(self, ast: Asterisk, server: PageServer, page: Page) -> None:
        page.goto(server.url)
        page.wait_for_function("() => window.hotlineSoftphone && "
                               "hotlineSoftphone.registration === 'registered'", timeout=15000)
        began = epoch_ms()
        self.note("microphone", page.evaluate("hotlineSoftphone.prepareMicrophone()"))
        self.note("microphone_ms", round(epoch_ms() - began, 1))
        marks = self._marks(page)
        self.note("register_ms", round(marks["registered"] - marks["starting"], 1))
        self.note("ws_open_ms", round(marks["connected"] - marks["starting"], 1))
        # Asterisk qualifies a new contact at once (OPTIONS over the WebSocket; JsSIP answers).
        contacts: list[dict[str, str]] = []

        def reachable() -> bool:
            contacts[:] = [{k: v for k, v in event.items() if k not in ("Event", "ActionID")}
                           for event in ast.ami({"Action": "PJSIPShowContacts"})
                           if event.get("Event") == "ContactList"]
            return any(c.get("Status") == "Reachable" for c in contacts)

        self.note("contact_reachable", self._wait(reachable, 10))
        self.note("contacts", contacts)
        self.note("contacts_cli", ast.cli("pjsip show contacts").strip().splitlines())
        page.screenshot(path=str(self.out / "1-registered.png"))

    def _originate(self, ast: Asterisk, resident: Path, result_file: Path) -> tuple[str, float]:
        """A resident queued for an operator; returns the resident's channel (the Local ;1
        half running ``caller-sim``) once the operator answered, and when it was asked for."""
        plays = "^".join(f"play:{resident.with_suffix('')}" for _ in range(6))
        with ast.ami_session(events=True, timeout=30) as session:
            asked = epoch_ms()
            action_id = session.send({
                "Action": "Originate", "Channel": "Local/operator@hotline-96010/n",
                "Context": "caller-sim", "Exten": "s", "Priority": "1", "Async": "true",
                "Timeout": "20000", "CallerID": '"居民" <13800138000>',
                "Variable": [f"SIM_SCRIPT={plays}", f"__SIM_RESULT={result_file}"],
            })
            response = session.wait_event(
                lambda m: m.get("Event") == "OriginateResponse"
                and m.get("ActionID") == action_id, timeout=30)
        if response.get("Response") != "Success":
            raise RuntimeError(f"the resident's call was not answered: {response}")
        return response["Channel"], asked

    def _answered_call(self, ast: Asterisk, page: Page, rec: Path, resident: Path) -> None:
        added = ast.ami({"Action": "QueueAdd", "Queue": "operators-96010",
                         "Interface": f"PJSIP/{ast.operator}", "MemberName": ast.operator})
        self.note("queue_add", added[0].get("Response"))
        self.note("queue_before", ast.cli("queue show operators-96010").strip().splitlines())
        result_file = ast.sim_dir / "call-1.txt"
        channel, asked = self._originate(ast, resident, result_file)
        self._connected(page, "call_1", asked, channel)
        self.note("channelstats", ast.cli("pjsip show channelstats").strip().splitlines())
        with ast.ami_session(timeout=10) as ami:
            windows: dict[str, dict[str, Any]] = {}
            time.sleep(0.5)
            for name, action, seconds in WINDOWS:
                if action is not None:
                    self._page_action(page, action)
                    time.sleep(SETTLE)
                before = self._stats(page)
                windows[name] = self._record(ami, channel, rec / name, seconds)
                after = self._stats(page)
                windows[name]["page"] = self._stats_delta(before, after)
                if name == "talk":
                    self.note("stats_talk_end", after)
                    page.screenshot(path=str(self.out / "2-in-call.png"))
            self.note("windows", windows)
        asked_hangup = epoch_ms()
        page.evaluate("hotlineSoftphone.hangup()")
        ended = self._wait(lambda: read_kv(Path(f"{result_file}.caller")).get("done") == "1", 10)
        self.note("hangup", {
            "resident_ended": ended,
            "resident_ended_ms": round(epoch_ms() - asked_hangup, 1),
            "resident_cause": read_kv(Path(f"{result_file}.caller")).get("hangupcause"),
            "page_call": page.evaluate("hotlineSoftphone.call"),
        })
        page.screenshot(path=str(self.out / "3-hung-up.png"))

    def _transferred_call(self, ast: Asterisk, page: Page, resident: Path) -> None:
        # The queue's wrap-up time (wrapuptime in queues.conf) keeps the operator out of it
        # for a few seconds after a call; ring them again at once.
        ast.ami({"Action": "QueueRemove", "Queue": "operators-96010",
                 "Interface": f"PJSIP/{ast.operator}"})
        ast.ami({"Action": "QueueAdd", "Queue": "operators-96010",
                 "Interface": f"PJSIP/{ast.operator}", "MemberName": ast.operator})
        result_file = ast.sim_dir / "call-2.txt"
        channel, asked = self._originate(ast, resident, result_file)
        self._connected(page, "call_2", asked, channel)
        asked = epoch_ms()
        outcome = page.evaluate("hotlineSoftphone.transfer('96010')")
        transferred = epoch_ms()
        spool = self._wait(lambda: any(read_kv(p).get("reason") for p in
                                       ast.spool_dir.glob("*.txt")), 10)
        entries = [read_kv(p) for p in sorted(ast.spool_dir.glob("*.txt"))]
        page_idle = self._wait(lambda: page.evaluate("hotlineSoftphone.call") == "idle", 5)
        self.note("transfer", {
            "outcome": outcome,
            "refer_ms": round(transferred - asked, 1),
            "in_96010_flow": spool,
            "in_96010_flow_ms": round(epoch_ms() - asked, 1),
            "spool": entries,
            "page_idle": page_idle,
            "resident_still_up": read_kv(Path(f"{result_file}.caller")).get("done") != "1",
        })
        ast.ami({"Action": "Hangup", "Channel": channel})
        self._wait(lambda: read_kv(Path(f"{result_file}.caller")).get("done") == "1", 10)

    # ---------------------------------------------------------------------- helpers

    def _connected(self, page: Page, key: str, asked: float, channel: str) -> None:
        """Wait for ICE+DTLS; note the call's timings from the page's own event times."""
        page.wait_for_function("() => hotlineSoftphone.media === 'connected'", timeout=20000)
        marks = self._marks(page)
        incoming = marks["incoming"]
        self.note(key, {
            "originate_to_incoming_ms": round(incoming - asked, 1),
            "incoming_to_ice_gathering_ms": round(marks["ice:gathering"] - incoming, 1),
            "incoming_to_ice_gathered_ms": round(marks["ice:complete"] - incoming, 1),
            "incoming_to_accepted_ms": round(marks["accepted"] - incoming, 1),
            "incoming_to_confirmed_ms": round(marks["confirmed"] - incoming, 1),
            "incoming_to_media_ms": round(marks["media:connected"] - incoming, 1),
            "originate_to_media_ms": round(marks["media:connected"] - asked, 1),
            "resident_channel": channel,
        })

    def _page_action(self, page: Page, action: str) -> None:
        # hold()/unhold() return promises (the re-INVITE); mute()/unmute() are immediate.
        page.evaluate(f"async () => {{ await hotlineSoftphone.{action}(); }}")

    def _record(self, ami: Ami, channel: str, base: Path, seconds: float) -> dict[str, Any]:
        heard, said = base.with_name(base.name + "-heard.wav"), base.with_name(
            base.name + "-said.wav")
        reply = ami.action({"Action": "MixMonitor", "Channel": channel,
                            "File": str(base.with_suffix(".wav")),
                            "Options": f"r({heard})t({said})"})
        if reply[0].get("Response") != "Success":
            raise RuntimeError(f"MixMonitor refused: {reply}")
        time.sleep(seconds)
        ami.action({"Action": "StopMixMonitor", "Channel": channel})
        self._wait(lambda: wav_complete(heard) and wav_complete(said), 5)
        return {"heard_rms": round(wav_info(heard).rms, 1),
                "said_rms": round(wav_info(said).rms, 1),
                "heard_s": round(wav_info(heard).duration, 2)}

    def _stats(self, page: Page) -> dict[str, Any]:
        stats: dict[str, Any] = page.evaluate("hotlineSoftphone.getStats()")
        return stats

    @staticmethod
    def _stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        def get(s: dict[str, Any], part: str, key: str) -> float:
            return float((s.get(part) or {}).get(key) or 0)

        return {
            "bytes_received": get(after, "inbound", "bytesReceived")
            - get(before, "inbound", "bytesReceived"),
            "audio_energy": round(get(after, "inbound", "totalAudioEnergy")
                                  - get(before, "inbound", "totalAudioEnergy"), 6),
            "seconds": round(get(after, "inbound", "totalSamplesDuration")
                             - get(before, "inbound", "totalSamplesDuration"), 3),
            "bytes_sent": get(after, "outbound", "bytesSent")
            - get(before, "outbound", "bytesSent"),
        }

    @staticmethod
    def _marks(page: Page) -> dict[str, float]:
        """The LAST time of each softphone event (``media:<state>`` for media events)."""
        history: list[dict[str, Any]] = page.evaluate("hotlineSoftphone.history")
        marks: dict[str, float] = {}
        for entry in history:
            name = entry["name"]
            if name in ("media", "ice"):
                name = f"{name}:{entry['detail'][name]}"
            marks[name] = float(entry["detail"]["at"])
        return marks

    @staticmethod
    def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def _keep_logs(self, ast: Asterisk) -> None:
        for path in (ast.workdir / "asterisk.out", ast.log_dir / "messages.log"):
            if path.exists():
                shutil.copyfile(path, self.out / f"asterisk-{path.name}")
        for path in (self.out / "work" / "shared" / "rec").glob("*.wav"):
            shutil.copyfile(path, self.out / path.name)
        (self.out / "page-console.log").write_text("\n".join(self.console) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--address", required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(args.out, args.address)
    status = 0
    try:
        scenario.run()
    except Exception:
        scenario.note("error", traceback.format_exc())
        status = 1
    finally:
        (args.out / "result.json").write_text(
            json.dumps(scenario.result, ensure_ascii=False, indent=2) + "\n")
        shutil.rmtree(args.out / "work" / "chromium-profile", ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
