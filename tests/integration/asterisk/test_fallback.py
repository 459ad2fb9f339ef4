"""Gateway down: the dialplan apologises, records the caller into the spool with a sidecar,
and `ivr.spool` turns that into a voice ticket — on a real Asterisk, nothing listening on the
AGI port."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import clip
from ivr.spool import format as spool_format
from ivr.spool import ingest as spool
from ivr.wavinfo import wav_info
from tests.integration.asterisk.audio import short_fallback_prompts, speech
from tests.integration.conftest import AsteriskFactory
from tests.support.services import free_port
from tickets.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]


def test_gateway_down_records_into_the_spool_and_ingest_makes_a_ticket(
    asterisk_factory: AsteriskFactory, tmp_path: Path, sqlite_store: Store,
) -> None:
    shared = tmp_path / "shared"
    prompts = short_fallback_prompts(shared / "prompts")
    said = speech(shared / "caller" / "speech.wav", "my street light has been broken for a week")
    ast = asterisk_factory(shared_dir=shared, prompts_dir=prompts)  # nothing on the AGI port
    result = ast.call_local(
        caller_id="13800138000",
        script=[("wait", "2"), ("play", str(said)), ("dtmf", "#"), ("wait", "3")],
        hear=shared / "heard.wav", timeout=60,
    )
    assert result.agistatus == "FAILURE"
    assert result.unique_id
    [sidecar] = ast.spool_entries()
    fields = spool_format.parse_sidecar(sidecar.read_text())
    assert fields["unique_id"] == result.unique_id
    assert fields["pbx"] == ast.pbx_id  # the call is known as <pbx>/<unique id>
    assert fields["caller"] == "13800138000"
    assert fields["reason"] == "gateway-down"
    assert int(fields["ended"]) >= int(fields["started"])
    recording = sidecar.with_suffix(".wav")
    assert sidecar.name.endswith(f"-{result.unique_id}.txt")
    info = wav_info(recording)
    assert info.duration > 1.0 and info.dbfs > -40  # the caller's speech, not silence
    assert result.hear is not None and wav_info(result.hear).dbfs > -40  # prompts were heard

    recorded = recording.read_bytes()
    assert spool.ingest_once(sqlite_store, ast.spool_dir, tmp_path / "media") == 1
    ticket = sqlite_store.find_by_ref("voice", result.ref)
    assert ticket is not None
    assert ticket.citizen.phone == "+8613800138000"
    [audio] = ticket.attachments
    assert audio.content_type == "audio/wav"
    saved = (tmp_path / "media" / audio.url.rsplit("/", 1)[-1]).read_bytes()
    assert saved == clip.message(recorded).wav  # the caller's words, quiet around them cut
    assert not recording.exists() and (ast.spool_dir / "done" / recording.name).exists()
    assert spool.ingest_once(sqlite_store, ast.spool_dir, tmp_path / "media") == 0


def test_hang_up_mid_message_keeps_the_recording_with_core_sounds(
    asterisk_factory: AsteriskFactory, tmp_path: Path,
) -> None:
    # No prompts folder: the dialplan falls back to Asterisk's core English sounds.
    shared = tmp_path / "shared"
    said = speech(shared / "caller" / "speech.wav", "please send someone to fix the road")
    ast = asterisk_factory(shared_dir=shared)
    assert not ast.prompts_dir.exists()
    result = ast.call_local(
        caller_id="", script=[("wait", "8"), ("play", str(said)), ("hangup", "")],
        hear=shared / "heard.wav", timeout=60,
    )
    assert result.agistatus == "FAILURE"
    [sidecar] = ast.spool_entries()
    fields = spool_format.parse_sidecar(sidecar.read_text())
    assert fields["caller"] == "" and "ended" in fields
    assert wav_info(sidecar.with_suffix(".wav")).dbfs > -40
    assert result.hear is not None and wav_info(result.hear).duration > 5  # the apology


def test_backup_gateway_down_too_tries_it_once_then_records(
    asterisk_factory: AsteriskFactory, tmp_path: Path,
) -> None:
    """AGI_BACKUP names a second gateway; when neither answers the call still ends in the
    spool recording (one try each, no loop). The working backup: tests/integration/scale."""
    shared = tmp_path / "shared"
    prompts = short_fallback_prompts(shared / "prompts")
    said = speech(shared / "caller" / "speech.wav", "the bus stop sign fell down")
    backup = f"127.0.0.1:{free_port()}"
    ast = asterisk_factory(shared_dir=shared, prompts_dir=prompts, agi_backup=backup)
    result = ast.call_local(
        caller_id="13800138000",
        script=[("wait", "2"), ("play", str(said)), ("dtmf", "#"), ("wait", "3")],
        timeout=60,
    )
    assert result.agistatus == "FAILURE"
    [sidecar] = ast.spool_entries()
    assert spool_format.parse_sidecar(sidecar.read_text())["reason"] == "gateway-down"
    log = ast.messages_log()
    assert f"agi://{backup}/96010" in log, log[-3000:]
