"""A fake Asterisk for unit tests of the AGI protocol and the flow (DESIGN.md allows exactly
this fake): it connects to a FastAGI server over a real TCP socket, sends the ``agi_*`` block,
and answers each command the way Asterisk 22 does, driven by a scripted caller."""

from __future__ import annotations

import asyncio
import math
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def write_tone(path: Path, seconds: float, freq: float = 440.0, amplitude: int = 8000) -> None:
    """An 8 kHz 16-bit mono WAV with a tone (what RECORD FILE would write for speech)."""
    rate = 8000
    n = int(rate * seconds)
    frames = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(n)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


@dataclass
class Caller:
    """What the simulated resident does.

    ``keys`` maps an input point to the key(s) pressed there, consumed in order: a prompt name
    (``"greeting"``, ``"menu"``, ``"digits/3"``: pressed while it plays), ``"wait"`` (WAIT FOR
    DIGIT; "" = no key), ``"data"`` (GET DATA: the digits typed). ``record_seconds`` of audio
    are "spoken" at the beep, ended by ``record_end`` (dtmf, timeout, hangup).
    """

    keys: list[tuple[str, str]] = field(default_factory=list)
    record_seconds: float = 3.0
    record_end: str = "dtmf"
    hangup_after_record: str = "line"  # "line": HANGUP + 511s; "close": Asterisk closes
    hang_up_at: str | None = None  # a prompt name: the caller hangs up while it plays


def _arg(line: str, index: int) -> str:
    parts = line.split(" ")
    return parts[index].strip('"') if len(parts) > index else ""


class FakeAsterisk:
    def __init__(self, port: int, caller: Caller, *, unique_id: str = "1764161000.42",
                 caller_id: str = "13800138000", script: str = "96010",
                 prompts_root: Path | None = None, calling_pres: str = "0") -> None:
        self.port = port
        self.caller = caller
        self.env = {
            "agi_network": "yes",
            "agi_network_script": script,
            "agi_request": f"agi://127.0.0.1:{port}/{script}",
            "agi_channel": "Local/96010@ivr-00000001;2",
            "agi_language": "en",
            "agi_type": "Local",
            "agi_uniqueid": unique_id,
            "agi_version": "22.10.1",
            "agi_callerid": caller_id,
            "agi_calleridname": "unknown",
            "agi_callingpres": calling_pres,
            "agi_context": "ivr",
            "agi_extension": "96010",
            "agi_priority": "3",
        }
        self.prompts_root = prompts_root
        self.commands: list[str] = []
        self.played: list[str] = []
        self.variables: dict[str, str] = {}
        self.recordings: list[Path] = []
        self.dead = False
        self.hung_up_by_gateway = False
        self.on_command: Callable[[str], list[str] | None] | None = None

    def _name(self, path: str) -> str:
        if self.prompts_root is not None and path.startswith(str(self.prompts_root) + "/"):
            return path[len(str(self.prompts_root)) + 1 :]
        return path

    def _next_key(self, point: str) -> str | None:
        if self.caller.keys and self.caller.keys[0][0] == point:
            return self.caller.keys.pop(0)[1]
        return None

    def answer(self, line: str) -> list[str]:
        """Asterisk's reply lines to one command."""
        if self.on_command is not None:
            custom = self.on_command(line)
            if custom is not None:
                return custom
        verb = " ".join(line.split(" ")[:2])
        if line.startswith("SET VARIABLE"):
            parts = line.split('" "')
            self.variables[parts[0].split('"')[1]] = parts[1].rstrip('"')
            return ["200 result=1"]
        if line.startswith("GET VARIABLE"):
            value = self.variables.get(_arg(line, 2))
            return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]
        if self.dead:
            return ["511 Command Not Permitted on a dead channel or intercept routine"]
        if line == "ANSWER":
            return ["200 result=0"]
        if line == "HANGUP":
            self.dead = self.hung_up_by_gateway = True
            return ["200 result=1"]
        if verb == "STREAM FILE":
            name = self._name(_arg(line, 2))
            self.played.append(name)
            if self.caller.hang_up_at == name:
                self.dead = True
                return ["HANGUP", "200 result=-1 endpos=4000"]
            key = self._next_key(name)
            if key and key in _arg(line, 3):
                return [f"200 result={ord(key)} endpos=2400"]
            return ["200 result=0 endpos=16000"]
        if verb == "WAIT FOR":
            key = self._next_key("wait")
            return [f"200 result={ord(key) if key else 0}"]
        if verb == "GET DATA":
            self.played.append(self._name(_arg(line, 2)))
            digits = self._next_key("data") or ""
            return [f"200 result={digits}" if len(digits) == 10 else
                    f"200 result={digits} (timeout)"]
        if verb == "RECORD FILE":
            path = Path(_arg(line, 2) + ".wav")
            self.recordings.append(path)
            if self.caller.record_seconds > 0:
                write_tone(path, self.caller.record_seconds)
            endpos = int(self.caller.record_seconds * 8000)
            if self.caller.record_end == "hangup":
                self.dead = True
                return [f"200 result=-1 (hangup) endpos={endpos}", "HANGUP"]
            if self.caller.record_end == "timeout":
                return [f"200 result=0 (timeout) endpos={endpos}"]
            return [f"200 result=35 (dtmf) endpos={endpos}"]
        return ["510 Invalid or unknown command"]

    async def call(self) -> None:
        """One call: connect, send the environment, answer until the gateway closes."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for key, value in self.env.items():
                writer.write(f"{key}: {value}\n".encode())
            writer.write(b"\n")
            await writer.drain()
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\n")
                self.commands.append(line)
                replies = self.answer(line)
                for reply in replies:
                    writer.write(reply.encode() + b"\n")
                await writer.drain()
                if (self.dead and self.caller.hangup_after_record == "close"
                        and not self.hung_up_by_gateway):
                    return  # AGIEXITONHANGUP=yes: Asterisk closes after the hang-up
        finally:
            writer.close()
