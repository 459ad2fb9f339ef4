"""The residents' web phone (/phone) calling 96010, run INSIDE a network namespace by
``test_phone_page_browser.py`` (``ip netns exec NS python -m
tests.integration.hotline.phone_scenario --out DIR --address A``). It measures and records; the
outer test judges ``DIR/result.json``.

A real Asterisk 22 (the harness; its HTTP server and so /ws on ``A``) with the production
dialplan plus the resident endpoint and context of ``hotline/pbx_config.py``; the gateway
(``hotline serve`` with ``HOTLINE_PHONE_PAGE=true``) and ``hotline agi`` on a private Redis and
SQLite; Debian's Chromium with a fake microphone speaking Mandarin opens
``http://127.0.0.1:PORT/phone``, presses 拨打 96010, then 3 on the keypad, speaks after the beep
and presses #. The IVR records the message and reads the ticket number back.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from hotline.pbx_config import RESIDENT_DIALPLAN, RESIDENT_ENDPOINT
from hotline.settings import Settings
from hotline.wiring import open_store
from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.integration.console.console_stack import SIM_CONF, Gateway
from tests.integration.console.softphone_scenario import RESIDENT_TEXT, speech
from tests.support.agi_process import agi_process
from tests.support.asterisk import Asterisk
from tests.support.services import RedisServer, free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 30_000  # ms


def _get(stats: dict[str, Any] | None, part: str, key: str) -> float:
    return float(((stats or {}).get(part) or {}).get(key) or 0)


class Run:
    def __init__(self, out: Path, address: str) -> None:
        self.out = out
        self.address = address
        self.result: dict[str, Any] = {}
        self.console: list[str] = []

    def note(self, key: str, value: Any) -> None:
        self.result[key] = value

    def run(self) -> None:
        work = self.out / "work"
        shared = work / "shared"
        shared.mkdir(parents=True)
        mic = speech(self.out / "resident-mic-48k.wav", RESIDENT_TEXT, 48000)
        redis = RedisServer(work / "redis")
        redis.start()
        agi_port = free_port()
        ast = Asterisk(work / "ast", agi_port=agi_port, shared_dir=shared,
                       prompts_dir=GENERATED, http_address=self.address, overrides={
                           "pjsip-operators.conf": RESIDENT_ENDPOINT,
                           "queues-96010-members.conf": "; nobody\n",
                           "extensions-sim.conf": SIM_CONF.read_text() + RESIDENT_DIALPLAN})
        gateway: Gateway | None = None
        try:
            ast.start()
            gateway = Gateway(shared / "gateway", {
                "HOTLINE_REDIS_URL": redis.url, "HOTLINE_PHONE_PAGE": "true",
                "HOTLINE_CONSOLE_SIP_WS": f"ws://{self.address}:{ast.http_port}/ws",
                "HOTLINE_AGI_PORT": str(agi_port),
                "HOTLINE_AUDIOSOCKET_PORT": str(ast.audiosocket_port),
                "HOTLINE_PROMPTS_DIR": str(GENERATED), "HOTLINE_TRANSCRIBE": "batch"})
            gateway.start()
            with agi_process(gateway.env, agi_port, work / "agi.log", "batch"):
                self._browser(gateway, mic)
                self._ticket(gateway)
        finally:
            if gateway is not None:
                gateway.stop()
                (self.out / "serve.log").write_text(gateway.log_text())
            ast.stop()
            redis.stop()
            for path in (ast.workdir / "asterisk.out", ast.log_dir / "messages.log",
                         work / "agi.log"):
                if path.exists():
                    shutil.copyfile(path, self.out / path.name)
            (self.out / "page-console.log").write_text("\n".join(self.console) + "\n")

    def _browser(self, gateway: Gateway, mic: Path) -> None:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(self.out / "work" / "chromium-profile"), executable_path=CHROMIUM,
                headless=True, viewport={"width": 800, "height": 900}, locale="zh-CN",
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-audio-capture={mic}",
                      "--autoplay-policy=no-user-gesture-required"])
            context.set_default_timeout(TIMEOUT)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
                self._call(page, gateway)
            finally:
                context.close()

    def _call(self, page: Page, gateway: Gateway) -> None:
        page.goto(gateway.url + "/phone")
        expect(page.locator("#phone-state")).to_have_text("可以拨打")
        self.note("limits_shown", page.locator("#phone-limits").is_visible())
        page.screenshot(path=str(self.out / "1-phone-ready.png"), full_page=True)
        began = time.monotonic()
        page.click("#phone-dial")
        expect(page.locator("#phone-state")).to_have_text("通话中")
        self.note("dial_to_media_s", round(time.monotonic() - began, 2))
        time.sleep(2.0)
        page.click('#phone-keypad button[data-key="3"]')
        before = page.evaluate("hotlinePhone.getStats()")
        time.sleep(13.0)  # the menu choice's prompt and the beep; the microphone speaks on
        page.screenshot(path=str(self.out / "2-phone-in-call.png"), full_page=True)
        after = page.evaluate("hotlinePhone.getStats()")
        page.click('#phone-keypad button[data-key="#"]')
        self.note("keys", page.locator("#phone-keys").inner_text())
        self.note("heard_ivr", {
            "bytes_received": _get(after, "inbound", "bytesReceived")
            - _get(before, "inbound", "bytesReceived"),
            "audio_energy": round(_get(after, "inbound", "totalAudioEnergy")
                                  - _get(before, "inbound", "totalAudioEnergy"), 6)})
        self.note("stats", after)
        # the IVR reads the number back and hangs up
        expect(page.locator("#phone-state")).to_have_text("可以拨打", timeout=90_000)
        self.note("call_s", round(time.monotonic() - began, 1))
        self.note("page_error", page.locator("#phone-error").inner_text())

    def _ticket(self, gateway: Gateway) -> None:
        settings = Settings(_env_file=None, env="development",
                            data_dir=Path(gateway.env["HOTLINE_DATA_DIR"]))
        store = open_store(settings)
        try:
            deadline = time.monotonic() + 30
            tickets = store.feed(0, 100)
            while not tickets and time.monotonic() < deadline:
                time.sleep(0.5)
                tickets = store.feed(0, 100)
            self.note("tickets", [{"number": t.number, "kind": t.kind.value,
                                   "channel": t.channel.value, "ref": t.channel_ref,
                                   "audio": [a.url for a in t.attachments]} for t in tickets])
            if tickets and tickets[0].attachments:
                name = tickets[0].attachments[0].url.rsplit("/", 1)[1]
                audio = settings.media_path / name[:2] / name
                found = audio if audio.exists() else next(settings.media_path.rglob(name), None)
                if found is not None:
                    info = wav_info(found)
                    self.note("recording", {"seconds": round(info.duration, 2),
                                            "rms": round(info.rms, 1)})
        finally:
            store.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the residents' web phone, end to end")
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
