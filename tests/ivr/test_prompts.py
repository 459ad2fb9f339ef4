"""The prompt builder (real espeak-ng and sox) and the catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ivr.prompts import PROMPT_TEXTS, Prompts, default_prompts_dir
from ivr.prompts.build import MANIFEST, build_prompts
from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.ivr.fake_asterisk import write_tone


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.fail("espeak-ng and sox are required (make deps)")
    out = tmp_path_factory.mktemp("prompts")
    report = build_prompts(out)
    assert len(report.built) == len(PROMPT_TEXTS) + 1
    return out


def test_every_prompt_is_8khz_mono_16bit_speech(built: Path) -> None:
    prompts = Prompts(built)
    assert prompts.missing() == []
    for name in (*PROMPT_TEXTS, "beep"):
        info = wav_info(built / f"{name}.wav")
        assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2), name
        assert info.duration > 0.2 and info.rms > 300, name  # not silent
    assert wav_info(built / "menu.wav").duration > wav_info(built / "digits/7.wav").duration


def test_rebuild_keeps_unchanged_and_human_recordings(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "p"
    shutil.copytree(built, out)
    write_tone(out / "greeting.wav", 1.0, freq=300)  # a "recorded" greeting
    (out / "thanks.wav").unlink()
    report = build_prompts(out)
    assert report.built == ["thanks"]
    assert report.kept_human == ["greeting"]
    assert len(report.unchanged) == len(PROMPT_TEXTS) - 1
    assert wav_info(out / "greeting.wav").duration == pytest.approx(1.0)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["digits/1"]["text"] == "幺"


def test_catalog_paths_and_missing(tmp_path: Path) -> None:
    prompts = Prompts(tmp_path)
    assert prompts.path("greeting") == f"{tmp_path}/greeting"
    assert prompts.digit("7") == f"{tmp_path}/digits/7"
    with pytest.raises(KeyError):
        prompts.path("nope")
    with pytest.raises(ValueError, match="not a digit"):
        prompts.digit("*")
    write_tone(tmp_path / "menu.wav", 0.1)
    missing = prompts.missing()
    assert "menu" not in missing and "greeting" in missing


def test_default_prompts_dir(tmp_path: Path) -> None:
    assert default_prompts_dir(tmp_path / "x", tmp_path) == (tmp_path / "x").resolve()
    assert default_prompts_dir(None, tmp_path) == GENERATED
    (tmp_path / "prompts").mkdir()
    assert default_prompts_dir(None, tmp_path) == (tmp_path / "prompts").resolve()
