"""The capture against the fake Asterisk and the real AudioSocket server: Asterisk records,
the live stream finds the end of the message, RECORD FILE stands in when streaming cannot
start, and a gateway that stops mid-call hands the call back to the dialplan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ivr.agi.server import AgiServer
from ivr.capture import Capture
from ivr.flow import CallFlow, FlowConfig
from ivr.prompts import Prompts
from tests.ivr.fake_asterisk import Caller, FakeAsterisk
from tickets.store import Store
from transcription.live import LiveTranscriber


@dataclass
class Published:
    messages: list[tuple[str, dict[str, Any]]]

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.messages.append((channel, message))


def call(store: Store, tmp_path: Path, caller: Caller, *,
         on_command: Any = None, stop_after: str | None = None,
         ) -> tuple[FakeAsterisk, Published]:
    published = Published([])

    async def scenario() -> FakeAsterisk:
        transcriber = LiveTranscriber(port=0, publisher=published)
        await transcriber.start()
        cfg = FlowConfig(prompts=Prompts(tmp_path / "prompts"),
                         recordings_dir=tmp_path / "rec", media_dir=tmp_path / "media",
                         spool_dir=tmp_path / "spool")
        flow = CallFlow(cfg, store, recorder=Capture(transcriber))
        server = AgiServer({"96010": flow}, port=0)
        await server.start()
        fake = FakeAsterisk(server.port, caller, prompts_root=cfg.prompts.root)
        fake.on_command = on_command
        closing: list[asyncio.Task[None]] = []

        async def stop_here(line: str) -> None:
            """The gateway is told to stop while Asterisk runs this command."""
            if stop_after is None or stop_after not in line or closing:
                return
            closing.append(asyncio.create_task(
                server.close(grace=0, before_handover=transcriber.end_all)))
            while not all(s._handover for s in server._sessions):  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # the flag is a plain attribute, not an event

        fake.before_reply = stop_here
        try:
            await asyncio.wait_for(fake.call(), 30)
            for task in closing:
                await task
        finally:
            await server.close(grace=10)
            await transcriber.stop()
        return fake

    return asyncio.run(scenario()), published


def test_the_live_stream_ends_the_message_on_hash(sqlite_store: Store, tmp_path: Path) -> None:
    fake, published = call(sqlite_store, tmp_path, Caller(keys=[("greeting", "3")]))
    [ticket] = sqlite_store.feed(0, 10)
    assert len(ticket.attachments) == 1
    verbs = [" ".join(c.split(" ")[:2]) for c in fake.commands]
    assert "EXEC AudioSocket" in verbs and "RECORD FILE" not in verbs
    assert verbs.index("EXEC MixMonitor") < verbs.index("EXEC AudioSocket") < verbs.index(
        "EXEC StopMixMonitor")
    assert fake.variables == {"IVR_ACTION": "done"}
    # no recognizer here: the console is told the transcript comes from the batch job
    assert [m["type"] for _, m in published.messages] == ["pending"]


def test_without_a_stream_record_file_finds_the_end(sqlite_store: Store,
                                                    tmp_path: Path) -> None:
    def no_audiosocket(line: str) -> list[str] | None:
        return ["200 result=0"] if line.startswith("EXEC AudioSocket") else None

    fake, _ = call(sqlite_store, tmp_path, Caller(keys=[("greeting", "2")]),
                   on_command=no_audiosocket)
    verbs = [" ".join(c.split(" ")[:2]) for c in fake.commands]
    assert "RECORD FILE" in verbs
    [ticket] = sqlite_store.feed(0, 10)
    assert len(ticket.attachments) == 1 and fake.variables == {"IVR_ACTION": "done"}


def test_hang_up_during_the_stream_still_makes_the_ticket(sqlite_store: Store,
                                                          tmp_path: Path) -> None:
    fake, _ = call(sqlite_store, tmp_path, Caller(keys=[("greeting", "4")],
                                                  record_end="hangup"))
    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.kind.value == "report" and len(ticket.attachments) == 1
    assert fake.variables == {}


@pytest.mark.parametrize(("stop_after", "tickets"), [("record_instructions", 0),
                                                     ("EXEC AudioSocket", 1)])
def test_a_stopping_gateway_hands_the_call_back_and_keeps_the_message(
        sqlite_store: Store, tmp_path: Path, stop_after: str, tickets: int) -> None:
    """Past the drain time the call goes back to the dialplan (IVR_ACTION=handover, which
    records the caller into the spool); whatever the caller had said is stored (before the
    beep: nothing yet)."""
    caller = Caller(keys=[("greeting", "3")], record_seconds=2.0)
    fake, _ = call(sqlite_store, tmp_path, caller, stop_after=stop_after)
    assert fake.variables.get("IVR_ACTION") == "handover"
    found = sqlite_store.feed(0, 10)
    assert len(found) == tickets
    assert all(t.kind.value == "complaint" and len(t.attachments) == 1 for t in found)
    assert list((tmp_path / "rec").iterdir()) == []
