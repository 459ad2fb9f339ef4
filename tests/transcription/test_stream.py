"""The live message as a pure state: plain frames and plain clock values in, steps out."""

from __future__ import annotations

import struct
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transcription.audiosocket import BYTES_PER_SECOND, FRAME_BYTES, Frame, Kind
from transcription.stream import Audio, End, EndedBy, LiveStream, StreamPolicy

POLICY = StreamPolicy(end_digits="#", silence_seconds=1.0, no_speech_seconds=2.0,
                      threshold_dbfs=-40.0, max_seconds=5.0)


def square(amplitude: int, samples: int = FRAME_BYTES // 2) -> bytes:
    """A square wave: its level is ``20 log10(amplitude / 32768)`` dBFS."""
    return struct.pack(f"<{samples}h", *(amplitude if i % 2 else -amplitude
                                          for i in range(samples)))


LOUD = square(16384)  # -6 dBFS
SOFT = square(300)  # -40.8 dBFS: below the threshold
JUST_LOUD = square(400)  # -38.3 dBFS: above it
QUIET = bytes(FRAME_BYTES)


def audio(pcm: bytes) -> Frame:
    return Frame(Kind.AUDIO, pcm)


def dtmf(digit: str) -> Frame:
    return Frame(Kind.DTMF, digit.encode("ascii"))


HANGUP = Frame(Kind.HANGUP)
ERROR = Frame(Kind.ERROR, b"\x01")
UUID = Frame(Kind.UUID, bytes(range(16)))


def frames_until_end(stream: LiveStream, frame: Frame, limit: int = 10_000) -> tuple[int, Audio]:
    """Feed ``frame`` until a step ends the message; how many it took, and that last step."""
    for n in range(1, limit + 1):
        step = stream.feed(frame, 0.0)
        assert isinstance(step, Audio) and step.pcm == frame.payload
        if step.end is not None:
            return n, step
    raise AssertionError("the message never ended")


# -- known answers --------------------------------------------------------------------------

def test_hash_ends_it_other_digits_do_not() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    assert stream.feed(audio(LOUD), 0.0) == Audio(LOUD)
    for digit in "0123456789*ABCD":
        assert stream.feed(dtmf(digit), 0.1) is None
    assert (stream.ended, stream.received) == (None, FRAME_BYTES)
    assert stream.feed(dtmf("#"), 0.2) == End("dtmf")
    assert (stream.ended, stream.seconds, stream.heard_speech) == ("dtmf", 0.02, True)


def test_the_end_digits_are_the_policys() -> None:
    stream = LiveStream(StreamPolicy(end_digits="*"), started_at=0.0)
    assert stream.feed(dtmf("#"), 0.0) is None
    assert stream.feed(dtmf("*"), 0.0) == End("dtmf")


@pytest.mark.parametrize("silence_seconds", [0.3, 1.0, 1.3, 3.0])
@pytest.mark.parametrize("loud_frames", [1, 7, 33])
def test_silence_after_speech_ends_it_exactly(silence_seconds: float, loud_frames: int) -> None:
    policy = StreamPolicy(silence_seconds=silence_seconds, no_speech_seconds=60.0)
    stream = LiveStream(policy, started_at=0.0)
    for _ in range(loud_frames):
        assert stream.feed(audio(LOUD), 0.0) == Audio(LOUD)
    n, last = frames_until_end(stream, audio(QUIET))
    assert n == round(silence_seconds * 50)  # 50 frames of 20 ms a second
    assert last == Audio(QUIET, "silence") and stream.ended == "silence"
    assert stream.speech_end == loud_frames * FRAME_BYTES / BYTES_PER_SECOND
    assert stream.received == (loud_frames + n) * FRAME_BYTES


def test_nobody_speaks() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    n, last = frames_until_end(stream, audio(QUIET))
    assert (n, last) == (100, Audio(QUIET, "silence"))  # no_speech_seconds = 2.0
    assert (stream.seconds, stream.heard_speech, stream.speech_end) == (2.0, False, None)


def test_the_threshold_decides_what_is_speech() -> None:
    soft = LiveStream(POLICY, started_at=0.0)
    assert frames_until_end(soft, audio(SOFT))[0] == 100  # never heard: the no-speech limit
    assert not soft.heard_speech
    loud = LiveStream(POLICY, started_at=0.0)
    assert frames_until_end(loud, audio(JUST_LOUD)) == (250, Audio(JUST_LOUD, "timeout"))
    assert loud.heard_speech and loud.seconds == POLICY.max_seconds


def test_speech_end_is_the_end_of_the_last_loud_frame() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    for pcm in (QUIET, LOUD, QUIET, LOUD, QUIET, QUIET):
        stream.feed(audio(pcm), 0.0)
    assert stream.speech_end == 4 * FRAME_BYTES / BYTES_PER_SECOND


def test_a_partial_frame_is_measured_once_it_is_whole() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    assert stream.feed(audio(LOUD[:100]), 0.0) == Audio(LOUD[:100])
    assert not stream.heard_speech and stream.received == 100
    assert stream.feed(audio(LOUD[100:]), 0.0) == Audio(LOUD[100:])
    assert stream.heard_speech and stream.speech_end == 0.02


def test_the_maximum_length_cuts_the_audio_exactly() -> None:
    stream = LiveStream(StreamPolicy(max_seconds=0.5), started_at=0.0)  # 8000 bytes
    sent = LOUD * 30  # 9600 bytes, in chunks that do not line up with the limit
    steps = [stream.feed(audio(sent[i:i + 1500]), 0.0) for i in range(0, len(sent), 1500)]
    passed = [s for s in steps if isinstance(s, Audio)]
    assert [len(s.pcm) for s in passed] == [1500] * 5 + [500]
    assert [s.end for s in passed] == [None] * 5 + ["timeout"]
    assert b"".join(s.pcm for s in passed) == sent[:8000]
    assert steps[6:] == [None]  # the rest is not part of the message
    assert (stream.ended, stream.seconds) == ("timeout", 0.5)


def test_the_maximum_length_wins_over_silence_in_the_same_frame() -> None:
    stream = LiveStream(StreamPolicy(no_speech_seconds=1.0, max_seconds=1.0), started_at=0.0)
    assert frames_until_end(stream, audio(QUIET)) == (50, Audio(QUIET, "timeout"))


def test_no_room_at_all_ends_it_at_the_first_audio() -> None:
    stream = LiveStream(StreamPolicy(max_seconds=0.0), started_at=0.0)
    assert stream.feed(dtmf("5"), 0.0) is None
    assert stream.feed(audio(LOUD), 0.0) == End("timeout")
    assert stream.received == 0


@pytest.mark.parametrize("frame", [HANGUP, ERROR], ids=["hangup", "error"])
def test_hangup_and_error_frames_end_it(frame: Frame) -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    stream.feed(audio(LOUD), 0.0)
    assert stream.feed(frame, 0.0) == End("hangup")
    assert stream.ended == "hangup" and stream.seconds == 0.02


def test_a_closed_connection_is_a_hangup() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    assert stream.hangup() == End("hangup")
    assert stream.hangup() is None


def test_other_frames_change_nothing() -> None:
    stream = LiveStream(POLICY, started_at=0.0)
    assert stream.feed(UUID, 0.0) is None
    assert stream.feed(audio(b""), 0.0) is None
    assert (stream.received, stream.ended, stream.heard_speech) == (0, None, False)


Ending = Literal["dtmf", "silence", "timeout", "hangup", "closed", "clock"]


def ended(how: Ending) -> LiveStream:
    """A stream with one loud frame, ended in one of the ways a message ends."""
    policy = StreamPolicy(silence_seconds=0.04, max_seconds=0.1)
    stream = LiveStream(policy, started_at=0.0)
    stream.feed(audio(LOUD), 0.0)
    if how == "dtmf":
        stream.feed(dtmf("#"), 0.0)
    elif how == "silence":
        frames_until_end(stream, audio(QUIET))
    elif how == "timeout":
        frames_until_end(stream, audio(LOUD))
    elif how == "hangup":
        stream.feed(HANGUP, 0.0)
    elif how == "closed":
        stream.hangup()
    else:
        stream.tick(1.0)
    return stream


@pytest.mark.parametrize(("how", "reason"), [
    ("dtmf", "dtmf"), ("silence", "silence"), ("timeout", "timeout"), ("hangup", "hangup"),
    ("closed", "hangup"), ("clock", "silence"),
])
def test_frames_after_the_end_are_ignored(how: Ending, reason: EndedBy) -> None:
    stream = ended(how)
    assert stream.ended == reason
    received = stream.received
    for frame in (audio(LOUD), audio(QUIET), dtmf("#"), HANGUP, ERROR, UUID):
        assert stream.feed(frame, 100.0) is None
    assert stream.tick(100.0) is None
    assert stream.hangup() is None
    assert (stream.ended, stream.received) == (reason, received)


def test_tick_ends_a_silent_leg_by_the_clock() -> None:
    """Nothing at all arrives (a Local channel, silence suppression): the clock decides."""
    stream = LiveStream(POLICY, started_at=100.0)
    assert stream.tick(100.0) is None
    assert stream.tick(101.75) is None
    assert stream.tick(102.0) == End("silence")  # no_speech_seconds after the start
    assert (stream.ended, stream.received, stream.heard_speech) == ("silence", 0, False)


def test_tick_counts_silence_from_the_last_loud_frame() -> None:
    stream = LiveStream(POLICY, started_at=100.0)
    stream.feed(audio(LOUD), 105.0)
    assert stream.loud_at == 105.0
    stream.feed(audio(QUIET), 105.5)  # quiet audio does not move the clock's mark
    assert stream.tick(105.75) is None
    stream.feed(audio(LOUD), 105.75)
    assert stream.tick(106.5) is None  # 1.0 s after 105.0, but only 0.75 after 105.75
    assert stream.tick(106.75) == End("silence")  # silence_seconds after the last loud frame


# -- any frames at all ----------------------------------------------------------------------

frames = st.one_of(
    st.builds(audio, st.one_of(st.sampled_from([LOUD, QUIET, SOFT, LOUD[:77]]),
                               st.binary(max_size=1200))),
    st.builds(dtmf, st.sampled_from("0123456789*#ABCD")),
    st.sampled_from([HANGUP, ERROR, UUID, Frame(Kind.ERROR)]),
)
operations = st.lists(st.tuples(
    st.one_of(frames, st.sampled_from(["tick", "closed"])),
    st.floats(min_value=0.0, max_value=1.5),  # the clock moves on by this much
), max_size=200)
policies = st.builds(
    StreamPolicy,
    end_digits=st.sampled_from(["#", "*#", ""]),
    silence_seconds=st.floats(min_value=0.0, max_value=2.0),
    no_speech_seconds=st.floats(min_value=0.0, max_value=4.0),
    threshold_dbfs=st.floats(min_value=-90.0, max_value=0.0),
    max_seconds=st.floats(min_value=0.0, max_value=3.0),
)


@given(policy=policies, ops=operations)
def test_any_frames_end_it_at_most_once_and_pass_the_audio_on_unchanged(
    policy: StreamPolicy, ops: list[tuple[Frame | str, float]],
) -> None:
    stream = LiveStream(policy, started_at=0.0)
    now = 0.0
    ends: list[EndedBy] = []
    fed = b""  # audio that arrived before the end
    passed = b""  # audio the stream passed on
    for op, step_by in ops:
        now += step_by
        before = stream.ended
        if op == "tick":
            step: Audio | End | None = stream.tick(now)
        elif op == "closed":
            step = stream.hangup()
        else:
            assert isinstance(op, Frame)
            if before is None and op.kind is Kind.AUDIO:
                fed += op.payload
            step = stream.feed(op, now)
        if before is not None:
            assert step is None  # nothing after the end
        if isinstance(step, Audio):
            assert step.pcm
            passed += step.pcm
            if step.end is not None:
                ends.append(step.end)
        elif isinstance(step, End):
            ends.append(step.reason)
    assert len(ends) <= 1
    assert stream.ended == (ends[0] if ends else None)
    limit = int(policy.max_seconds * BYTES_PER_SECOND)
    assert passed == fed[:limit] and stream.received == len(passed) <= limit
    if stream.ended == "timeout":
        assert stream.received == limit
