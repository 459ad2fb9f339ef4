"""The message in a recording (pure): header repair, speech found, quiet cut (known answers)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr import clip
from tests.ivr.fake_asterisk import tone_pcm


def wav(pcm: bytes) -> bytes:
    return clip.write_wav(clip.Pcm(pcm, 8000))


QUIET = bytes(8000 * 2)  # one second of digital silence


def test_speech_is_kept_with_half_a_second_around_it() -> None:
    message = clip.message(wav(QUIET * 3 + tone_pcm(2.0) + QUIET * 2))
    assert message.said_something
    assert message.seconds == pytest.approx(3.0, abs=0.001)
    assert clip.read_pcm(message.wav).samples[:1000] == bytes(1000)  # the margin is quiet


def test_a_recording_without_sound_said_nothing() -> None:
    message = clip.message(wav(QUIET * 4))
    assert not message.said_something and message.seconds == pytest.approx(4.0)


def test_a_soft_voice_is_kept_whole_never_dropped() -> None:
    soft = tone_pcm(2.0, amplitude=150)  # about -50 dBFS: under speech, above the floor
    message = clip.message(wav(QUIET + soft))
    assert message.said_something and message.seconds == pytest.approx(3.0)


def test_an_unfinished_header_is_repaired() -> None:
    """Asterisk killed mid-call leaves 'RIFF 0 … data 0': the sizes come from the bytes."""
    good = wav(tone_pcm(1.0))
    broken = bytearray(good)
    struct.pack_into("<I", broken, 4, 0)
    struct.pack_into("<I", broken, 40, 0)
    broken += b"\x01"  # and a torn last sample
    repaired = clip.repair(bytes(broken))
    assert repaired == good
    assert clip.read_pcm(bytes(broken)).seconds == pytest.approx(1.0)


@pytest.mark.parametrize("data", [b"", b"RIFF", b"not a wav at all" * 4,
                                  b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(40)])
def test_not_a_wav(data: bytes) -> None:
    with pytest.raises(clip.NotWav):
        clip.message(data)


@given(st.binary(max_size=2000))
def test_any_bytes_are_a_message_or_not_a_wav(data: bytes) -> None:
    for candidate in (data, b"RIFF" + data[:4] + b"WAVE" + data[4:]):
        try:
            message = clip.message(candidate)
        except clip.NotWav:
            continue
        assert message.seconds >= 0
