"""A burst of callers larger than the live recognition capacity, on the real stack: Asterisk 22,
``hotline agi --transcribe live`` with one recognizer process that takes two streams, ``hotline
worker`` (the batch transcriber) and a private Redis and SQLite (bench/call_burst.py's
:class:`~bench.call_burst.Stack`, which the benchmark runs at 5–40 callers).

Five residents call at once, press 3, speak about 6 s of Mandarin after the beep and press #.
Every message must be kept whole (its length and sound, and its first seconds speech, not the
silence of a recording that began late), every caller must hear a ticket number without
waiting on speech recognition, the calls beyond the capacity must be refused live recognition
visibly (the log line) and every ticket must get its transcript, live or batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.call_burst import Stack, parse_admission
from tests.support.services import require_root

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]

CALLERS = 5
STREAMS = 2  # one recognizer process with two streams: three callers go to batch
NUMBER_BOUND = 20.0  # seconds from '#' to the ticket (the number read back); generous
TRANSCRIPT_BOUND = 120.0  # seconds after the last hang-up for every transcript


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_root()
    with Stack(tmp_path_factory.mktemp("call-burst"), transcribe="live", live_processes=1,
               streams_per_process=STREAMS) as running:
        yield running


def test_a_burst_beyond_live_capacity_keeps_every_message(stack: Stack) -> None:
    calls = stack.burst(CALLERS, transcript_wait=TRANSCRIPT_BOUND)
    log = stack.agi_log.read_text(errors="replace")
    assert not [c.error for c in calls if c.error], log[-3000:]
    assert [c.ivr_action for c in calls] == ["done"] * CALLERS, log[-3000:]  # number read back
    # every message kept whole, from the resident's first words
    assert stack.spoken is not None
    for call in calls:
        assert call.audio is not None, (call, log[-3000:])
        assert call.whole, (call.audio, stack.spoken)
        assert call.in_feed
    # nobody waited on speech recognition for the number
    waits = [c.hash_to_ticket for c in calls]
    assert all(w is not None and w <= NUMBER_BOUND for w in waits), waits
    # beyond the capacity: refused live recognition, visibly, and recorded all the same
    admission = parse_admission(log)
    refs = {c.ref for c in calls}
    refused = [r for r in admission.refused if r in refs]
    assert len(refused) >= CALLERS - STREAMS, log[-3000:]
    # every ticket has its transcript: the admitted ones live, the others from the batch job
    assert all(c.transcript_at is not None for c in calls), [
        (c.ref, c.ticket_number) for c in calls if c.transcript_at is None]
    modes = {c.ref: c.transcript_mode for c in calls}
    assert {modes[r] for r in refused} == {"batch"}
    assert "live" in modes.values()

