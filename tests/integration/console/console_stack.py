"""The console as operators get it, for the browser tests: the gateway's HTTP process
(``python -m hotline serve``) on a private Redis and SQLite, people made with the real
``hotline operator add`` and a real Asterisk 22 whose queue can ring an operator.

The operator's phone. The queue dials ``PJSIP/op-<login>`` (console/screenpop.py); in the test
Asterisk that endpoint (written as an override of ``pjsip-operators.conf``) is an
``operator-deskphone`` whose contact is Asterisk's own SIP port: the INVITE comes back in as
the ``carrier`` (identified by 127.0.0.1) to ``from-carrier,op-phone``, which rings for
:data:`RING_SECONDS` (so the call is seen waiting in the queue), answers and holds the line.
To Asterisk, and so to the console, it is an operator's desk phone answering: ``AgentConnect``
with ``Interface: PJSIP/op-<login>`` and the caller's ``TICKET_ID``.

The resident. :meth:`ConsoleAsterisk.park_call` originates a Local channel pair: ``;2`` answers
and waits in ``console-test-ivr`` — the leg the IVR would hold in its AGI — and ``;1`` is the
simulated caller (``caller-sim``). :class:`Ivr` publishes the call's life in the IVR with the
real :class:`ivr.events.CallEvents` and its live transcript with the real
:class:`transcription.publish.RedisPublisher`, as ``hotline agi`` does for a real call.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.events import CallEvents, Step, call_topic
from tests.support.asterisk import Asterisk
from tests.support.services import free_port, stop_process, wait_until
from transcription.publish import RedisPublisher, channel

REPO = Path(__file__).resolve().parents[3]
SIM_CONF = REPO / "asterisk-conf" / "test" / "extensions-sim.conf"
RING_SECONDS = 3
SECRET = "browser-test-console-secret-0123456789abcdef"


def operator_endpoint(login: str) -> str:
    """An ``op-<login>`` desk phone whose contact is the test Asterisk itself."""
    name = f"op-{login}"
    return f"""\
[{name}](operator-deskphone)
aors = {name}

[{name}](operator-aor)
contact = sip:op-phone@127.0.0.1:@SIP_PORT@
qualify_frequency = 2
"""


EXTRA_DIALPLAN = f"""
; console browser tests (tests/integration/console/console_stack.py)
[from-carrier]
exten => op-phone,1,Ringing()
 same => n,Wait({RING_SECONDS})
 same => n,Answer()
 same => n,Wait(600)
 same => n,Hangup(16)

[console-test-ivr]
exten => s,1,Answer()
 same => n,Wait(600)
 same => n,Hangup(16)
"""


def asterisk_overrides(logins: list[str]) -> dict[str, str]:
    """Config files for :class:`Asterisk`: the operators' phones, no static queue member, and
    the two test contexts beside the harness's own."""
    return {
        "pjsip-operators.conf": "\n".join(operator_endpoint(login) for login in logins),
        "queues-96010-members.conf": "; members come from the console (QueueAdd)\n",
        "extensions-sim.conf": SIM_CONF.read_text() + EXTRA_DIALPLAN,
    }


@dataclass(frozen=True)
class ParkedCall:
    ref: str  # the ticket's channel_ref
    topic: str  # the call's id on the board
    channel: str  # the IVR leg (what the takeover redirects)
    phone: str


class ConsoleAsterisk:
    """Calls on an :class:`Asterisk` started with :func:`asterisk_overrides`."""

    def __init__(self, asterisk: Asterisk) -> None:
        self.asterisk = asterisk

    def park_call(self, phone: str) -> ParkedCall:
        with self.asterisk.ami_session(events=True, timeout=20) as session:
            action_id = session.send({
                "Action": "Originate", "Channel": "Local/s@console-test-ivr/n",
                "Context": "caller-sim", "Exten": "s", "Priority": "1", "Async": "true",
                "Timeout": "10000", "CallerID": f'"" <{phone}>',
                "Variable": ["SIM_SCRIPT="],
            })
            response = session.wait_event(
                lambda m: m.get("Event") == "OriginateResponse"
                and m.get("ActionID") == action_id, timeout=20)
        if response.get("Response") != "Success":
            raise RuntimeError(f"originate failed: {dict(response)}")
        caller_side = response["Channel"]  # Local/s@console-test-ivr-XXXXXXXX;1
        ivr_leg = caller_side[:-2] + ";2"
        ref = f"{self.asterisk.pbx_id}/{response['Uniqueid']}"
        return ParkedCall(ref=ref, topic=call_topic(ref), channel=ivr_leg, phone=phone)

    def hang_up_all(self) -> None:
        self.asterisk.cli("channel request hangup all")

    def channel_context(self, name: str) -> str | None:
        """The dialplan context ``name`` is in now (None: no such channel)."""
        for reply in self.asterisk.ami({"Action": "CoreShowChannels"}):
            if reply.get("Event") == "CoreShowChannel" and reply.get("Channel") == name:
                return reply.get("Context")
        return None


class Ivr:
    """What ``hotline agi`` publishes about its calls, made with the same objects (one
    :class:`CallEvents`, one :class:`RedisPublisher`) on an event loop in a thread of its own
    (Playwright's sync API keeps a loop busy in the test's thread)."""

    def __init__(self, redis_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.events = CallEvents.from_url(redis_url)
        self.publisher = RedisPublisher(redis_url)

    def _run(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        asyncio.run_coroutine_threadsafe(make(), self.loop).result(10)

    def answer(self, call: ParkedCall, kind: str) -> None:
        """The call reached the IVR, the resident chose ``kind`` and is recording."""

        async def run() -> None:
            self.events.started(call.ref, call.channel, call.phone)
            self.events.step(call.ref, Step.record, kind=kind)
            self.events.recording(call.ref)

        self._run(run)

    def heard(self, call: ParkedCall, *messages: tuple[str, str]) -> None:
        """Live transcript messages (type, text) of the call."""

        async def run() -> None:
            for type_, text in messages:
                await self.publisher.publish(channel(call.topic), {
                    "type": type_, "uuid": call.topic, "call": call.ref, "text": text})

        self._run(run)

    def ended(self, call: ParkedCall, why: str) -> None:
        """The IVR lets go of the call (``takeover``, ``hangup``, ...)."""

        async def run() -> None:
            self.events.ended(call.ref, why)

        self._run(run)

    def close(self) -> None:
        async def run() -> None:
            await self.events.close()
            await self.publisher.close()

        self._run(run)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Gateway:
    """``python -m hotline`` with the test's settings (cwd ``home``, so no stray .env)."""

    def __init__(self, home: Path, settings: Mapping[str, str]) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        self.env = {**base, "PYTHONPATH": str(REPO), "HOTLINE_ENV": "development",
                    "HOTLINE_DATA_DIR": str(home / "var"),
                    "HOTLINE_HTTP_PORT": str(self.port), "HOTLINE_CONSOLE_SECRET": SECRET,
                    "HOTLINE_RATE_LIMITS": "false", **settings}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None,
            settings: Mapping[str, str] | None = None) -> str:
        env = {**self.env, **(settings or {})}
        done = subprocess.run([sys.executable, "-m", "hotline", *args], cwd=self.home, env=env,
                              input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"hotline {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        self.cli("migrate")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "hotline", "serve"],
                                         cwd=self.home, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, timeout=60, interval=0.2)
        except TimeoutError:
            raise RuntimeError(f"hotline serve did not start:\n{self.log_text()}") from None

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"hotline serve exited:\n{self.log_text()}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, 15)
        self.proc = None

