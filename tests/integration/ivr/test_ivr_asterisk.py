"""The 96010 call flow end to end: a real Asterisk 22 (Debian sid chroot) calls ``hotline agi``
(a real subprocess) over FastAGI; tickets land in a real SQLite store; what the caller hears is
recorded by the harness and analysed here (pure Python, no numpy)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.integration.asterisk.audio import speech
from tests.integration.ivr.heard import digit_run, heard_prompt, speech_segments
from tests.support.agi_process import agi_process
from tests.support.asterisk import Asterisk, CallResult
from tests.support.services import free_port, require_root, wait_until
from tickets import media
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.model import Channel, Intake, Kind, Ticket
from tickets.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]

SPEECH_TEXT = "东四十条路口的路灯坏了三天了，地址是东城区东四十条甲一号，请尽快修理。"


@dataclass
class Rig:
    ast: Asterisk
    store: Store
    shared: Path
    prompts: Path
    media: Path
    speech: Path  # without extension, as Playback wants it
    log: Path

    def ticket_for(self, result: CallResult) -> Ticket | None:
        """The call's ticket; the gateway may still be storing it when Asterisk is done."""
        assert result.unique_id, result
        uid = result.ref
        try:
            wait_until(lambda: self.store.find_by_ref("voice", uid) is not None, timeout=30)
        except TimeoutError:
            return None
        return self.store.find_by_ref("voice", uid)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    require_root()
    base = tmp_path_factory.mktemp("ivr-e2e")
    shared = base / "shared"
    prompts = shared / "prompts"
    build_prompts(GENERATED)  # quick when `make prompts` already ran
    shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"))
    (shared / "caller").mkdir(parents=True)
    speech(shared / "caller" / "speech.wav", SPEECH_TEXT, voice="cmn", rate=190)
    url = f"sqlite:///{base / 'hotline.sqlite3'}"
    db = Database(url)
    upgrade(db)
    store = Store(db)
    agi_port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(base / "data"),
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_PROMPTS_DIR": str(prompts),
        "HOTLINE_RECORDINGS_DIR": str(shared / "recordings"),
        "HOTLINE_AGI_HOST": "127.0.0.1",
        "HOTLINE_AGI_PORT": str(agi_port),
    }
    log = base / "agi.log"
    try:
        with agi_process(env, agi_port, log, "batch"):
            ast = Asterisk(base / "ast", agi_port=agi_port, shared_dir=shared,
                           prompts_dir=prompts)
            ast.start()
            try:
                yield Rig(ast, store, shared, prompts, base / "data" / "media",
                          shared / "caller" / "speech", log)
            finally:
                ast.stop()
    finally:
        db.dispose()


def _audio(rig: Rig, ticket: Ticket) -> Path:
    [attachment] = ticket.attachments
    assert attachment.content_type == "audio/wav"
    path = media.resolve(rig.media, attachment.url.rsplit("/", 1)[1])
    assert path is not None
    return path


def test_complaint_is_recorded_ticketed_and_its_number_read_back(rig: Rig) -> None:
    hear = rig.shared / "heard" / "complaint.wav"
    result = rig.ast.call_local(
        caller_id="13800138000", hear=hear, timeout=120,
        # key 3 during the greeting (barge-in), speak after the beep, '#' ends the message
        script=[("wait", "2"), ("dtmf", "3"), ("wait", "13"), ("play", str(rig.speech)),
                ("dtmf", "#")],
    )
    assert result.agistatus in ("SUCCESS", "HANGUP"), rig.log.read_text()  # HANGUP: ours
    assert result.ivr_action == "done"
    ticket = rig.ticket_for(result)
    assert ticket is not None, rig.log.read_text()
    assert ticket.kind is Kind.complaint
    assert ticket.channel is Channel.voice
    assert ticket.citizen.phone == "+8613800138000"
    recording = wav_info(_audio(rig, ticket))
    spoken = wav_info(rig.speech.with_suffix(".wav"))
    assert recording.duration > 0.8 * spoken.duration
    assert recording.rms > 0.2 * spoken.rms  # speech, not silence
    # the back-office feed shows it with the caller and the audio
    fed = [t for t in rig.store.feed(0, 1000) if t.id == ticket.id]
    assert fed and fed[0].citizen.phone == "+8613800138000" and fed[0].attachments
    # the caller heard the ten digits of the ticket number, one prompt per digit
    heard = speech_segments(hear)
    assert digit_run(heard, ticket.number, rig.prompts) is not None, (ticket.number, heard)


def test_star_hears_the_number_again(rig: Rig) -> None:
    hear = rig.shared / "heard" / "again.wav"
    result = rig.ast.call_local(
        caller_id="13911112222", hear=hear, timeout=150,
        script=[("wait", "2"), ("dtmf", "5"), ("wait", "13"), ("play", str(rig.speech)),
                ("dtmf", "#"), ("wait", "15"), ("dtmf", "*")],
    )
    ticket = rig.ticket_for(result)
    assert ticket is not None and ticket.kind is Kind.suggestion
    heard = speech_segments(hear)
    first = digit_run(heard, ticket.number, rig.prompts)
    assert first is not None, (ticket.number, heard)
    again = digit_run(heard[first + 10 :], ticket.number, rig.prompts)
    assert again is not None, (ticket.number, heard)


def test_zero_reaches_the_operator_queue_with_the_draft(rig: Rig) -> None:
    result = rig.ast.call_local(caller_id="13800138001", timeout=90,
                                script=[("wait", "2"), ("dtmf", "0")])
    assert result.agistatus == "SUCCESS", rig.log.read_text()
    assert result.ivr_action == "operator"
    draft = rig.ticket_for(result)
    assert draft is not None
    assert draft.kind is Kind.unknown and draft.attachments == []
    assert draft.citizen.phone == "+8613800138001"
    assert result.ticket_id == draft.id
    answered = [c for c in rig.ast.operator_calls() if c.get("ticket_id") == draft.id]
    assert len(answered) == 1  # the queue member's channel carries TICKET_ID


def test_hang_up_while_recording_still_makes_a_ticket(rig: Rig) -> None:
    result = rig.ast.call_local(
        caller_id="", timeout=90,  # anonymous
        script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"), ("play", str(rig.speech)),
                ("hangup", "")],
    )
    ticket = rig.ticket_for(result)
    assert ticket is not None, rig.log.read_text()
    assert ticket.kind is Kind.consultation
    assert ticket.citizen.phone is None
    recording = wav_info(_audio(rig, ticket))
    assert recording.duration > 2 and recording.rms > 300


def test_progress_query_speaks_the_status(rig: Rig) -> None:
    existing = rig.store.submit(Intake(channel=Channel.web, channel_ref="e2e-status",
                                       received_at=datetime.now(UTC), text="井盖丢失"))
    before = len(rig.store.feed(0, 1000))
    hear = rig.shared / "heard" / "status.wav"
    result = rig.ast.call_local(
        caller_id="13800138002", hear=hear, timeout=90,
        script=[("wait", "2"), ("dtmf", "9"), ("wait", "2"),
                ("dtmf", existing.ticket.number + "#")],
    )
    assert result.ivr_action == "done", rig.log.read_text()
    assert len(rig.store.feed(0, 1000)) == before  # a query makes no ticket
    heard = speech_segments(hear)
    assert heard_prompt(heard, rig.prompts / "status" / "received.wav") is not None, heard


def test_real_sip_call_from_sipp(rig: Rig) -> None:
    """A SIP call with RTP speech and RFC 4733 digits (SIPp + a generated pcap)."""
    from tests.support.rtp_pcap import Digits, Silence, read_wav_8k, write_caller_pcap
    from tests.support.sipp import sipp_call

    work = rig.shared / "sipp"
    work.mkdir(exist_ok=True)
    pcap = work / "caller.pcap"
    pcap_ms = write_caller_pcap(pcap, [
        Silence(2), Digits("2"),  # barge-in: 求助
        Silence(12), read_wav_8k(rig.speech.with_suffix(".wav")), Digits("#"),
    ])
    before = {t.id for t in rig.store.feed(0, 1000)}
    result = sipp_call(rig.ast.sip_port, pcap=pcap, hold_ms=pcap_ms + 30000, workdir=work,
                       caller_id="13700137000")
    assert result.ok, result.output
    assert result.hung_up_by_ivr  # the flow read the number back, thanked and hung up
    wait_until(lambda: any(t.id not in before and t.channel is Channel.voice
                           for t in rig.store.feed(0, 1000)), timeout=30)
    [ticket] = [t for t in rig.store.feed(0, 1000) if t.id not in before]
    assert ticket.kind is Kind.help
    assert ticket.citizen.phone == "+8613700137000"
    recording = wav_info(_audio(rig, ticket))
    spoken = wav_info(rig.speech.with_suffix(".wav"))
    assert recording.duration > 0.8 * spoken.duration
    assert recording.rms > 0.2 * spoken.rms
