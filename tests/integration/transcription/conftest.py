"""The session's Vosk engine and test audio, shared with tests/transcription."""

from tests.transcription.conftest import engine, words, words_wav

__all__ = ["engine", "words", "words_wav"]
