"""The SIPp caller who leaves a message through the 96010 IVR, and what the rigs built around
two ``hotline agi`` gateways wait on (the Kamailio rig, ``make chaos``).

The caller barges into the greeting with 2 (求助), lets the instructions and the beep play,
speaks :data:`SPEECH_TEXT` and presses ``#``; the IVR reads the ticket number back and hangs up.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ivr import recordings
from tests.integration.asterisk.audio import speech as make_speech
from tests.support.rtp_pcap import Digits, Silence, read_wav_8k, write_caller_pcap
from tests.support.services import wait_until

SPEECH_TEXT = "东四十条路口的路灯坏了三天了，请尽快修理。"
SPEAKING_AT = 14.5  # seconds into the recording: ~2.5 s of speech (see speaking)
READY = "recognizer 0 ready"


def message_pcap(folder: Path) -> tuple[Path, int]:
    """The caller's RTP stream as a pcap in ``folder`` (the speech WAV beside it); (pcap, its
    length in ms)."""
    speech = folder / "speech.wav"
    make_speech(speech, SPEECH_TEXT, voice="cmn", rate=190)
    pcap = folder / "caller.pcap"
    ms = write_caller_pcap(pcap, [Silence(2), Digits("2"), Silence(12), read_wav_8k(speech),
                                  Digits("#")])
    return pcap, ms


def speaking(folder: Path, pattern: str, known: set[Path]) -> Path | None:
    """A recording matching ``pattern`` in ``folder``, not in ``known``, long enough that the
    caller is speaking into it: MixMonitor starts at the menu key (~2 s into the caller's
    pcap), the speech 12 s later; 8 kHz 16-bit WAV is 16,000 bytes a second."""
    for wav in folder.glob(pattern):
        try:
            long_enough = wav.stat().st_size > 16000 * SPEAKING_AT
        except FileNotFoundError:  # the message was stored in between
            continue
        if wav not in known and long_enough:
            return wav
    return None


def speaker(wav: Path) -> str | None:
    """The caller's phone (E.164) of a recording in progress, from its sidecar."""
    try:
        return recordings.read_meta(recordings.Files.of(wav)).call.phone
    except ValueError:
        return None


def wait_recognizers(logs: Iterable[Path], timeout: float = 300) -> None:
    """Every gateway's recognizer warm (each ``hotline agi`` loads the model, ~12 s, since the
    batch jobs use it): a call arriving while two of them warm up on 2 cores waited past the
    caller's patience once in CI."""
    for log in logs:
        wait_until(lambda log=log: READY in log.read_text(errors="replace"), timeout=timeout)
