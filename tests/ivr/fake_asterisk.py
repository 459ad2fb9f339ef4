"""A fake Asterisk for unit tests of the AGI protocol and the flow (DESIGN.md allows exactly
this fake): it connects to a FastAGI server over a real TCP socket, sends the ``agi_*`` block,
and answers each command the way Asterisk 22 does, driven by a scripted caller.

Recording is faked the way Asterisk does it: ``EXEC MixMonitor ",r(PATH)"`` starts a recording
of what the caller says into PATH (a moment of quiet while the cue plays, then the caller's
"speech" — a tone — when the end of the message is being listened for), closed by ``EXEC
StopMixMonitor`` or the hang-up; ``RECORD FILE`` writes its own file; ``EXEC AudioSocket
UUID,HOST:PORT`` really connects to the AudioSocket server and streams the tone as 20 ms frames,
then ``#`` (or hangs up), and answers when the server closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import struct
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from transcription import audiosocket

RATE = 8000
CUE_QUIET_SECONDS = 0.6  # what MixMonitor records while the instructions and the beep play


def tone_pcm(seconds: float, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    n = int(RATE * seconds)
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * freq * i / RATE)))
                    for i in range(n))


def wav_bytes(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


def write_wav(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(pcm))


def write_tone(path: Path, seconds: float, freq: float = 440.0, amplitude: int = 8000) -> None:
    """An 8 kHz 16-bit mono WAV with a tone (what RECORD FILE would write for speech)."""
    write_wav(path, tone_pcm(seconds, freq, amplitude))


@dataclass
class Caller:
    """What the simulated resident does.

    ``keys`` maps an input point to the key(s) pressed there, consumed in order: a prompt name
    (``"greeting"``, ``"menu"``, ``"digits/3"``: pressed while it plays), ``"wait"`` (WAIT FOR
    DIGIT; "" = no key), ``"data"`` (GET DATA: the digits typed). ``record_seconds`` of audio
    are "spoken" after the beep, ended by ``record_end`` (dtmf, timeout, hangup).
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
                 prompts_root: Path | None = None, calling_pres: str = "0",
                 pbx: str = "", mixmonitor: bool = True) -> None:
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
        if pbx:
            self.env["agi_arg_1"] = pbx
        self.prompts_root = prompts_root
        self.mixmonitor_available = mixmonitor
        self.commands: list[str] = []
        self.played: list[str] = []
        self.variables: dict[str, str] = {}
        self.recordings: list[Path] = []  # RECORD FILE targets
        self.mixmonitor: Path | None = None  # the MixMonitor file while it records
        self._mixed_fd: int | None = None
        self.mixed: list[Path] = []  # every MixMonitor file
        self._mixed_pcm = b""
        self.dead = False
        self.hung_up_by_gateway = False
        self.on_command: Callable[[str], list[str] | None] | None = None
        # awaited before each reply is sent (a test can act "while Asterisk runs a command")
        self.before_reply: Callable[[str], Awaitable[None]] | None = None

    def _name(self, path: str) -> str:
        if self.prompts_root is not None and path.startswith(str(self.prompts_root) + "/"):
            return path[len(str(self.prompts_root)) + 1 :]
        return path

    def _next_key(self, point: str) -> str | None:
        if self.caller.keys and self.caller.keys[0][0] == point:
            return self.caller.keys.pop(0)[1]
        return None

    # -- MixMonitor ---------------------------------------------------------------------------
    def _speak(self) -> bytes:
        """The caller's message: it goes into the MixMonitor recording, if one runs."""
        pcm = tone_pcm(self.caller.record_seconds) if self.caller.record_seconds > 0 else b""
        if self.mixmonitor is not None:
            self._mixed_pcm += pcm + bytes(int(RATE * 0.3) * 2)
            self._write_mixed()
        return pcm

    def _write_mixed(self) -> None:
        # Asterisk writes through its open file (it only grows): once the gateway removed
        # the file, the rest goes to the unlinked inode and no file appears again
        if self._mixed_fd is not None:
            os.pwrite(self._mixed_fd, wav_bytes(self._mixed_pcm), 0)

    def _stop_mixmonitor(self) -> None:
        self._write_mixed()
        if self._mixed_fd is not None:
            os.close(self._mixed_fd)
            self._mixed_fd = None
        self.mixmonitor = None

    def _hang_up(self) -> None:
        self.dead = True
        self._stop_mixmonitor()  # Asterisk closes the recording when the channel goes

    # -- commands ---------------------------------------------------------------------------
    def answer(self, line: str) -> list[str]:
        """Asterisk's reply lines to one command."""
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
            self.hung_up_by_gateway = True
            self._hang_up()
            return ["200 result=1"]
        if verb == "STREAM FILE":
            name = self._name(_arg(line, 2))
            self.played.append(name)
            if self.caller.hang_up_at == name:
                self._hang_up()
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
            return [f"200 result={digits}" if 10 <= len(digits) <= 16 and digits.isdigit()
                    else f"200 result={digits} (timeout)"]
        if verb == "EXEC MixMonitor":
            if not self.mixmonitor_available:
                return ["200 result=-2"]
            options = line.split(" ", 2)[2].strip('"')
            self.mixmonitor = Path(options.split("r(", 1)[1].rstrip(")"))
            self.mixed.append(self.mixmonitor)
            self.mixmonitor.parent.mkdir(parents=True, exist_ok=True)
            self._mixed_fd = os.open(self.mixmonitor, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            self._mixed_pcm = bytes(int(RATE * CUE_QUIET_SECONDS) * 2)
            self._write_mixed()
            return ["200 result=0"]
        if verb == "EXEC StopMixMonitor":
            self._stop_mixmonitor()
            return ["200 result=0"]
        if verb == "RECORD FILE":
            path = Path(_arg(line, 2) + ".wav")
            self.recordings.append(path)
            pcm = self._speak()
            if pcm:
                write_wav(path, pcm)
            endpos = int(self.caller.record_seconds * 8000)
            if self.caller.record_end == "hangup":
                self._hang_up()
                return [f"200 result=-1 (hangup) endpos={endpos}", "HANGUP"]
            if self.caller.record_end == "timeout":
                return [f"200 result=0 (timeout) endpos={endpos}"]
            return [f"200 result=35 (dtmf) endpos={endpos}"]
        return ["510 Invalid or unknown command"]

    async def _audiosocket(self, line: str) -> list[str]:
        """``EXEC AudioSocket UUID,HOST:PORT``: stream the caller to the server, for real."""
        target = line.split(" ", 2)[2].strip('"')
        key, address = target.split(",", 1)
        host, port = address.rsplit(":", 1)
        pcm = self._speak()
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            return ["200 result=-1"]  # nothing listens: AudioSocket fails at once
        try:
            writer.write(audiosocket.uuid_frame(uuid.UUID(key)))
            for offset in range(0, len(pcm), audiosocket.FRAME_BYTES):
                writer.write(audiosocket.audio_frame(pcm[offset:offset + audiosocket.FRAME_BYTES]))
            if self.caller.record_end == "dtmf":
                writer.write(audiosocket.dtmf_frame("#"))
            await writer.drain()
            if self.caller.record_end == "hangup":
                self._hang_up()
                return ["200 result=-1", "HANGUP"]
            with contextlib.suppress(ConnectionError):
                while await reader.read(4096):  # until the server closes the socket
                    pass
        finally:
            writer.close()
        return ["200 result=0"]

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
                custom = self.on_command(line) if self.on_command is not None else None
                if custom is not None:
                    replies = custom
                elif line.startswith("EXEC AudioSocket") and not self.dead:
                    replies = await self._audiosocket(line)
                else:
                    replies = self.answer(line)
                if self.before_reply is not None:
                    await self.before_reply(line)
                for reply in replies:
                    writer.write(reply.encode() + b"\n")
                await writer.drain()
                if (self.dead and self.caller.hangup_after_record == "close"
                        and not self.hung_up_by_gateway):
                    return  # AGIEXITONHANGUP=yes: Asterisk closes after the hang-up
        finally:
            self._stop_mixmonitor()
            writer.close()
