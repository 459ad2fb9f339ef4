"""``hotline call``: a resident's call to 96010 from the terminal, through the local PBX.

The resident's voice is Mandarin speech made by espeak-ng (``--say``), resampled by sox to
8 kHz. AMI ``Originate`` makes a Local channel pair: its IVR leg enters the production
dialplan at ``from-carrier`` (through ``hotline-call-in``, which notes the leg's outcome), and
the resident's side (``hotline-caller``) presses the key, speaks after the beep, presses ``#``
and stays on the line. While it runs, what the IVR does is read from the IVR's own events
(Redis ``hotline:ivr:calls``) and its live transcript; at the end the ticket is looked up in
the store by the call's reference. ``--wait-operator`` keeps talking and then holds the line so
that an operator can take the call over on the board and hear the resident.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.ami import AmiConfig, AmiDown, AmiLink, AmiRefused
from hotline.pbx_config import PBX_ID
from ivr.events import CHANNEL, call_topic, snapshot_key
from tickets import redisclient, rediskeys
from tickets.model import Ticket
from tickets.store import Store

KEYS = "0123456789"
MATTERS = "12345"  # the keys that record a message (咨询 求助 投诉 举报 建议)
TALK_WAIT = 13  # seconds from the key to the end of the beep (the prompts of make prompts)
HOLD_AFTER = 60  # seconds the resident stays after '#': the IVR reads the number and hangs up
HOLD_FOR_OPERATOR = 900
# waiting for an operator, the resident keeps talking this long (the message goes on and the
# call stays in the IVR, on the board, until someone takes it over; under the IVR's longest
# message, HOTLINE_MAX_RECORD_SECONDS, 120 by default)
TALK_FOR_OPERATOR = 90
STEPS = {"greeting": "greeting and menu", "record": "recording the message",
         "status": "progress query", "operator": "to the operators' queue",
         "ended": "done with the call"}

Say = Callable[[str], None]


class CallError(RuntimeError):
    pass


@dataclass(frozen=True)
class CallPlan:
    key: str
    say: str | None
    caller: str = "13800138000"
    wait_operator: bool = False

    def __post_init__(self) -> None:
        if len(self.key) != 1 or self.key not in KEYS:
            raise CallError(f"--key must be one digit 0-9, not {self.key!r}")
        if self.say is not None and not self.say.strip():
            raise CallError("--say needs some text")
        if not self.caller.lstrip("+").isdigit():
            raise CallError(f"--from must be a phone number, not {self.caller!r}")


@dataclass(frozen=True)
class Outcome:
    unique_id: str
    ref: str
    vars: dict[str, str]
    ticket: Ticket | None
    heard: Path


def make_speech(text: str, target: Path, seconds: float = 0.0) -> Path:
    """Mandarin speech as an 8 kHz 16-bit mono WAV (what Playback plays without transcoding),
    said again and again for at least ``seconds`` when that is more than once."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise CallError(f"{tool} is not installed (make deps installs it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_name(target.stem + ".raw.wav")
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "170", "-w", str(raw), text], check=True,
                   capture_output=True)
    once = subprocess.run(["soxi", "-D", str(raw)], check=True, capture_output=True, text=True)
    again = max(0, math.ceil(seconds / max(float(once.stdout.strip() or 1), 0.5)) - 1)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target),
                    *(["repeat", str(again)] if again else [])],
                   check=True, capture_output=True)
    raw.unlink()
    return target


def script(plan: CallPlan, speech: Path | None) -> str:
    """The resident's steps for the dialplan's ``hotline-caller`` (``OP:ARG`` joined by ``^``)."""
    steps = ["wait:2", f"dtmf:{plan.key}"]
    if plan.key in MATTERS and speech is not None:
        steps += [f"wait:{TALK_WAIT}", f"play:{speech.with_suffix('')}"]
        # waiting for an operator the speech is long (make_speech) and the message not ended
        if not plan.wait_operator:
            steps.append("dtmf:#")
    elif plan.key not in MATTERS:
        steps.append("wait:8")
    return "^".join(steps)


def read_kv(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return {}
    return {k.strip(): v.strip() for k, sep, v in (line.partition("=") for line in lines) if sep}


class ResidentCall:
    def __init__(self, ami: AmiConfig, redis_url: str | None, store: Store, workdir: Path,
                 say: Say, pbx_id: str = PBX_ID) -> None:
        self.ami = ami
        self.pbx_id = pbx_id  # the PBX_ID global of the dialplan (call references)
        self.redis_url = redis_url
        self.store = store
        self.workdir = workdir.resolve()
        self.say = say
        self.channel: str | None = None  # the IVR leg
        self.steps: list[str] = []

    async def run(self, plan: CallPlan) -> Outcome:
        token = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        talk = TALK_FOR_OPERATOR if plan.wait_operator else 0.0
        speech = (make_speech(plan.say, self.workdir / f"{token}-says.wav", talk)
                  if plan.say and plan.key in MATTERS else None)
        result = self.workdir / f"{token}.txt"
        heard = self.workdir / f"{token}-heard.wav"
        link = AmiLink(self.ami)
        await link.start()
        watcher: asyncio.Task[None] | None = None
        try:
            if not await link.wait_connected(5):
                raise CallError(f"no AMI at {self.ami.host}:{self.ami.port}: is the PBX running? "
                                "(make run, or: hotline pbx)")
            resident = await self._originate(link, plan, speech, result, heard)
            self.channel = resident[:-2] + ";2"
            uid = await self._unique_id(link, self.channel)
            ref = f"{self.pbx_id}/{uid}"
            self.say(f"answered by the PBX: {self.channel} (call {ref})")
            watcher = asyncio.create_task(self._watch(call_topic(ref)))
            if plan.wait_operator:
                self.say(f"the line stays open up to {HOLD_FOR_OPERATOR} s: take the call over "
                         "on the board (接管) and answer it in the softphone; Ctrl-C hangs up")
            try:
                await self._until(lambda: read_kv(Path(f"{result}.caller")).get("done") == "1")
            except asyncio.CancelledError:
                with contextlib.suppress(AmiDown, AmiRefused):
                    await link.action({"Action": "Hangup", "Channel": resident})
                raise
            await self._until(lambda: read_kv(result).get("done") == "1", 10)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await link.close()
        values = read_kv(result)
        ticket = await self._ticket(ref)
        return Outcome(uid, ref, values, ticket, heard)

    async def _originate(self, link: AmiLink, plan: CallPlan, speech: Path | None,
                         result: Path, heard: Path) -> str:
        action_id = f"hotline-call-{uuid.uuid4().hex}"
        answered: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

        def on_event(event: dict[str, str]) -> None:
            if (event.get("Event") == "OriginateResponse"
                    and event.get("ActionID") == action_id and not answered.done()):
                answered.set_result(event)

        link.on_event(on_event)
        hold = HOLD_FOR_OPERATOR if plan.wait_operator else HOLD_AFTER
        self.say(f"calling 96010 from {plan.caller} through the PBX at {self.ami.host}: key "
                 f"{plan.key}" + (f", then says “{plan.say}”" if speech is not None else ""))
        await link.action({
            "Action": "Originate", "ActionID": action_id,
            "Channel": "Local/96010@hotline-call-in/n", "Context": "hotline-caller",
            "Exten": "s", "Priority": "1", "Async": "true", "Timeout": "30000",
            "CallerID": f'"居民" <{plan.caller}>',
            "Variable": [f"CALL_SCRIPT={script(plan, speech)}", f"CALL_HOLD={hold}",
                         f"CALL_HEAR={heard}", f"__CALL_RESULT={result}"]}, seconds=10)
        try:
            event = await asyncio.wait_for(answered, 40)
        except TimeoutError:
            raise CallError("the PBX did not answer the call within 40 s") from None
        if event.get("Response") != "Success":
            raise CallError(f"the call was not answered ({event.get('Reason', '?')}): is "
                            "'hotline agi' running? (make run starts it)")
        return event["Channel"]

    async def _unique_id(self, link: AmiLink, channel: str) -> str:
        reply = await link.action({"Action": "Getvar", "Channel": channel,
                                   "Variable": "UNIQUEID"})
        value = reply.get("Value", "")
        if not value:
            raise CallError(f"no UNIQUEID on {channel}")
        return value

    async def _watch(self, topic: str) -> None:
        """Print the IVR's steps and the live transcript of this call as they come."""
        if not self.redis_url:
            return
        redis = redisclient.connect_async(self.redis_url, None)
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL, rediskeys.transcript(topic))
            # what happened before the subscription (the greeting starts at once)
            snapshot = await redis.get(snapshot_key(topic))
            if snapshot:
                self._show(CHANNEL, json.dumps({"call": json.loads(snapshot)}), topic)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._show(message["channel"], message["data"], topic)
        except (OSError, ConnectionError) as exc:
            self.say(f"(no live IVR events: {exc})")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await redis.aclose()

    def _show(self, channel: bytes | str, data: bytes | str, topic: str) -> None:
        try:
            body: dict[str, Any] = json.loads(data)
        except ValueError:
            return
        name = channel.decode() if isinstance(channel, bytes) else channel
        if name == CHANNEL:
            call = body.get("call") or {}
            if call.get("topic") != topic:
                return
            line = STEPS.get(str(call.get("step")), str(call.get("step")))
            if call.get("kind"):
                line += f" ({call['kind']})"
            if call.get("ticket_number"):
                line += f", ticket {call['ticket_number']}"
            if call.get("ended"):
                line += f", ended: {call['ended']}"
            if not self.steps or self.steps[-1] != line:
                self.steps.append(line)
                self.say(f"IVR: {line}")
        elif body.get("type") in ("segment", "final") and body.get("text"):
            self.say(f"heard ({body['type']}): {body['text']}")

    async def _until(self, done: Callable[[], bool], seconds: float | None = None) -> None:
        began = time.monotonic()
        while not done():
            if seconds is not None and time.monotonic() - began > seconds:
                return
            await asyncio.sleep(0.2)

    async def _ticket(self, ref: str, seconds: float = 30.0) -> Ticket | None:
        """The call's ticket (the gateway may still be storing it when the call ends)."""
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            ticket = await asyncio.to_thread(self.store.find_by_ref, "voice", ref)
            if ticket is not None:
                return ticket
            await asyncio.sleep(0.5)
        return None
