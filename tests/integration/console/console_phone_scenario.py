"""The console's OWN page and softphone, end to end, run INSIDE a network namespace by
``test_console_phone.py`` (``ip netns exec NS python -m
tests.integration.console.console_phone_scenario --out DIR --address A``). It measures and
records; it asserts nothing: the outer test judges ``DIR/result.json``.

Unlike ``softphone_scenario`` (a page of its own), nothing here is a test page: the gateway
(``python -m hotline serve``) serves the console with its default settings except the two it
needs to reach this Asterisk (``HOTLINE_CONSOLE_SIP_WS`` = ``ws://A:PORT/ws``, the AMI link),
so the softphone registers with the console's own SIP domain.

1. ``hotline operator add alice`` writes her PJSIP endpoint into the test Asterisk's config
   folder and reloads res_pjsip over AMI (as in production).
2. Alice logs in in Chromium (fake microphone: Mandarin speech); the board's softphone
   registers (``pjsip show contacts``); she signs in to the queue (签入队列).
3. A resident calls 96010 over SIP (SIPp, A-law RTP from a pcap: key 4, then Mandarin speech)
   into the production dialplan and the real IVR (``hotline agi``), which puts the call on the
   board. Alice presses 接管: the call is redirected into the queue, the queue rings her
   browser, she presses 接听.
4. Audio both ways over DTLS-SRTP: MixMonitor on the resident's channel records what the
   resident hears (Alice's microphone) and says; the page's getStats shows what it received.
5. Alice presses 挂断: the resident's call ends.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.integration.console.console_stack import Gateway
from tests.integration.console.softphone_scenario import OPERATOR_TEXT, RESIDENT_TEXT, speech
from tests.support.agi_process import agi_process
from tests.support.asterisk import Asterisk, wav_complete
from tests.support.rtp_pcap import Digits, Silence, read_wav_8k, write_caller_pcap
from tests.support.services import RedisServer, free_port
from tests.support.sipp import SippResult, sipp_call

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
TIMEOUT = 20_000  # ms


class Run:
    def __init__(self, out: Path, address: str) -> None:
        self.out = out
        self.address = address
        self.result: dict[str, Any] = {}
        self.console: list[str] = []

    def note(self, key: str, value: Any) -> None:
        self.result[key] = value

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.out / f"{name}.png"))

    def run(self) -> None:
        work = self.out / "work"
        shared = work / "shared"
        (shared / "rec").mkdir(parents=True)
        resident = speech(shared / "resident.wav", RESIDENT_TEXT, 8000)
        mic = speech(self.out / "operator-mic-48k.wav", OPERATOR_TEXT, 48000)
        # the resident (SIPp): key 4 during the greeting, then talks on and on (through the
        # prompts, the beep and the takeover: the operator hears them at once)
        said = read_wav_8k(resident)
        pcap = shared / "resident.pcap"
        pcap_ms = write_caller_pcap(pcap, [Silence(2), Digits("4"), Silence(1), *([said] * 8)])
        redis = RedisServer(work / "redis")
        redis.start()
        agi_port = free_port()
        ast = Asterisk(work / "ast", agi_port=agi_port, shared_dir=shared,
                       prompts_dir=GENERATED, http_address=self.address, overrides={
                           "queues-96010-members.conf": "; members join by AMI\n"})
        gateway: Gateway | None = None
        try:
            ast.start()
            ws = f"ws://{self.address}:{ast.http_port}/ws"
            gateway = Gateway(shared / "gateway", {
                "HOTLINE_REDIS_URL": redis.url, "HOTLINE_AMI_HOST": "127.0.0.1",
                "HOTLINE_AMI_PORT": str(ast.ami_port), "HOTLINE_AMI_USERNAME": ast.ami_user,
                "HOTLINE_AMI_SECRET": ast.ami_secret, "HOTLINE_CONSOLE_SIP_WS": ws,
                "HOTLINE_AGI_PORT": str(agi_port),
                "HOTLINE_AUDIOSOCKET_PORT": str(ast.audiosocket_port),
                "HOTLINE_PROMPTS_DIR": str(GENERATED), "HOTLINE_TRANSCRIBE": "batch",
                # the operators' endpoints go where this Asterisk's pjsip.conf includes them
                "HOTLINE_PJSIP_OPERATORS": str(ast.conf_dir / "pjsip-operators.conf")})
            gateway.start()
            self.note("operator_add", gateway.cli(
                "operator", "add", "alice", "--name", "王小丽", "--role", "operator",
                "--password-stdin", stdin=PASSWORD + "\n").strip().splitlines())
            shown = ast.cli("pjsip show endpoint op-alice").splitlines()
            self.note("endpoint", [line.strip() for line in shown
                                   if line.strip().startswith(("Endpoint:", "Aor:"))])
            with agi_process(gateway.env, agi_port, work / "agi.log", "batch"):
                self._browser(ast, gateway, mic, pcap, pcap_ms, shared / "rec")
        finally:
            if gateway is not None:
                gateway.stop()
                (self.out / "serve.log").write_text(gateway.log_text())
            ast.stop()
            redis.stop()
            for path in (ast.workdir / "asterisk.out", ast.log_dir / "messages.log",
                         work / "agi.log"):
                if path.exists():
                    shutil.copyfile(path, self.out / f"asterisk-{path.name}")
            for path in (shared / "rec").glob("*.wav"):
                shutil.copyfile(path, self.out / path.name)
            (self.out / "page-console.log").write_text("\n".join(self.console) + "\n")

    def _browser(self, ast: Asterisk, gateway: Gateway, mic: Path, pcap: Path, pcap_ms: int,
                 rec: Path) -> None:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(self.out / "work" / "chromium-profile"), executable_path=CHROMIUM,
                headless=True, viewport={"width": 1366, "height": 900}, locale="zh-CN",
                timezone_id="Asia/Shanghai",
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-audio-capture={mic}",
                      "--autoplay-policy=no-user-gesture-required"])
            context.set_default_timeout(TIMEOUT)
            try:
                board = context.pages[0] if context.pages else context.new_page()
                board.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
                board.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
                self._log_in(board, gateway, ast)
                self._take_over(board, ast, pcap, pcap_ms, rec)
            finally:
                context.close()

    def _log_in(self, board: Page, gateway: Gateway, ast: Asterisk) -> None:
        board.goto(gateway.url + "/console/")
        board.fill("#login", "alice")
        board.fill("#password", PASSWORD)
        board.click("button[type=submit]")
        expect(board.locator("#softphone")).to_be_visible()
        expect(board.locator("#phone-state")).to_have_text("已注册")
        self.note("phone_error_hidden", board.locator("#phone-error").is_hidden())
        self.note("softphone_domain", board.evaluate("hotlineSoftphone.domain"))
        # what the page registered with: the digest, never a password
        self.note("softphone_credentials", board.evaluate(
            "['password', 'ha1', 'realm'].filter(k => hotlineSoftphone.config[k])"))
        self.note("contacts", [
            {k: v for k, v in e.items() if k in ("Endpoint", "Uri", "Status", "UserAgent")}
            for e in ast.ami({"Action": "PJSIPShowContacts"}) if e.get("Event") == "ContactList"])
        board.click("#queue-login")
        expect(board.locator("#my-state")).to_have_text("空闲")
        self.note("queue", ast.cli("queue show operators-96010").strip().splitlines())
        self.shot(board, "1-registered")

    def _take_over(self, board: Page, ast: Asterisk, pcap: Path, pcap_ms: int,
                   rec: Path) -> None:
        ended: list[SippResult] = []
        caller = threading.Thread(target=lambda: ended.append(sipp_call(
            ast.sip_port, pcap=pcap, hold_ms=pcap_ms + 1000, caller_id="13800138000",
            workdir=self.out / "work" / "sipp", timeout=180)), daemon=True)
        caller.start()
        # the real IVR (hotline agi) publishes the call: key 4, recording a report
        row = board.locator("#ivr-calls tr", has_text="留言中（举报）")
        expect(row).to_be_visible(timeout=40_000)
        self.note("board_row", row.inner_text())
        # the test model is Korean: every live transcript is marked
        self.note("model_marker", row.locator(".model-lang").inner_text())
        self.shot(board, "2-board-live-call")
        row.locator("button.takeover").click()
        expect(board.locator("#queue-message")).to_contain_text("已接管，工单")
        self.note("takeover_message", board.locator("#queue-message").inner_text())
        expect(board.locator("#phone-state")).to_have_text("来电振铃")
        rang = time.monotonic()
        self.shot(board, "3-ringing")
        board.click("#phone-answer")
        board.wait_for_function("() => hotlineSoftphone.media === 'connected'", timeout=TIMEOUT)
        self.note("answer_to_media_s", round(time.monotonic() - rang, 2))
        expect(board.locator("#phone-state")).to_have_text("通话中")
        self.note("phone_caller", board.locator("#phone-caller").inner_text())
        channel = next(m["Channel"] for m in ast.ami({"Action": "CoreShowChannels"})
                       if m.get("Event") == "CoreShowChannel"
                       and str(m.get("Channel", "")).startswith("PJSIP/carrier-"))
        self.note("resident_channel", channel)
        time.sleep(0.5)
        before = board.evaluate("hotlineSoftphone.getStats()")
        heard, said = rec / "talk-heard.wav", rec / "talk-said.wav"
        with ast.ami_session(timeout=10) as ami:
            reply = ami.action({"Action": "MixMonitor", "Channel": channel,
                                "File": str(rec / "talk.wav"),
                                # a PJSIP channel: r() is what it reads from the
                                # resident (says), t() what it sends them (hears)
                                "Options": f"r({said})t({heard})"})
            self.note("mixmonitor", reply[0].get("Response"))
            time.sleep(3.0)
            ami.action({"Action": "StopMixMonitor", "Channel": channel})
        after = board.evaluate("hotlineSoftphone.getStats()")
        self._until(lambda: wav_complete(heard) and wav_complete(said), 5)
        self.note("talk", {
            "heard_rms": round(wav_info(heard).rms, 1), "said_rms": round(wav_info(said).rms, 1),
            "page_bytes_received": _get(after, "inbound", "bytesReceived")
            - _get(before, "inbound", "bytesReceived"),
            "page_audio_energy": round(_get(after, "inbound", "totalAudioEnergy")
                                       - _get(before, "inbound", "totalAudioEnergy"), 6)})
        self.note("stats", after)
        self.shot(board, "4-in-call")
        board.click("#phone-hangup")
        caller.join(20)
        expect(board.locator("#phone-state")).to_have_text("已注册")
        self.note("hangup", {"resident_ended": not caller.is_alive(),
                             "page_call": board.evaluate("hotlineSoftphone.call")})
        self.note("sipp", {"ok": ended[0].ok, "hung_up_by_ivr": ended[0].hung_up_by_ivr}
                  if ended else None)

    @staticmethod
    def _until(predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())


def _get(stats: dict[str, Any] | None, part: str, key: str) -> float:
    return float(((stats or {}).get(part) or {}).get(key) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the console's own softphone, end to end")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--address", required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args.out, args.address)
    status = 0
    try:
        run.run()
    except Exception:
        run.note("error", traceback.format_exc())
        status = 1
    finally:
        (args.out / "result.json").write_text(
            json.dumps(run.result, ensure_ascii=False, indent=2) + "\n")
        shutil.rmtree(args.out / "work" / "chromium-profile", ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
