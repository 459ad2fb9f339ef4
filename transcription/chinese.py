"""Chinese post-processing of Vosk text (pure functions, no I/O).

Vosk's Chinese models emit one token per character or word, separated by spaces
(``"东 四 十 条 三 十 五 号"``). :func:`join_cjk` removes the spaces between Han characters
and keeps them in Latin (and Hangul) text. :func:`normalize_numbers` turns spoken numbers
into digits where a resident means a number:

* digit-by-digit runs (phone numbers, years, room numbers): ``幺三八零零一三八零零零`` →
  ``13800138000`` (``幺`` = 1, ``两`` = 2 as read out on the phone), at least 5 digits, or
  2 before 年, or any before an address unit (``幺零二室`` → ``102室``);
* counted numbers right before an address unit (号, 号楼, 栋, 幢, 单元, 室, 层, 楼, 弄, 巷):
  ``三十五号`` → ``35号``, ``十二层`` → ``12层`` (converted with cn2an).

Numbers inside place names stay as they are: in ``东四十条三十五号`` only ``三十五号``
becomes ``35号`` — ``东四十条`` is the name of a hutong, not "East 40th".
"""

from __future__ import annotations

import re

import cn2an

_HAN = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs (ext. A, unified, compat.)
    "\u3000-\u303f\uff00-\uff0f\uff1a-\uff20"  # CJK and full-width punctuation
)
_SPACE_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")

_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
_DIGIT_CHARS = "零〇一幺二两三四五六七八九"  # "洞" (0 in radio speech) only inside runs
_UNITS = "号楼|号|栋|幢|单元|室|层|楼|弄|巷"
_DIGIT_RUN = re.compile(rf"[{_DIGIT_CHARS}][{_DIGIT_CHARS}洞]{{4,}}")
_YEAR = re.compile(rf"[{_DIGIT_CHARS}][{_DIGIT_CHARS}洞]+(?=年)")
_COUNTED_BEFORE_UNIT = re.compile(rf"[{_DIGIT_CHARS}十百千]+(?=(?:{_UNITS}))")


def join_cjk(text: str) -> str:
    """Remove the spaces Vosk puts between Han characters; keep them elsewhere."""
    text = " ".join(text.split())
    return _SPACE_BETWEEN_HAN.sub("", text)


def digits(run: str) -> str:
    """A digit-by-digit run (``幺三八``) as ASCII digits (``138``)."""
    return "".join(_DIGITS[c] for c in run)


def _counted(match: re.Match[str]) -> str:
    run = match.group(0)
    if not any(c in "十百千" for c in run):
        return digits(run)
    try:
        return str(cn2an.cn2an(run.replace("幺", "一"), "smart"))
    except (ValueError, KeyError):
        return run  # not a well-formed number ("十十号"): leave the words as spoken


def normalize_numbers(text: str) -> str:
    """Spoken numbers → digits in phone numbers and addresses (see the module docstring)."""
    text = _COUNTED_BEFORE_UNIT.sub(_counted, text)
    text = _YEAR.sub(lambda m: digits(m.group(0)), text)
    return _DIGIT_RUN.sub(lambda m: digits(m.group(0)), text)


def postprocess(text: str) -> str:
    """What a ticket shows: CJK runs joined, then numbers normalised."""
    return normalize_numbers(join_cjk(text))
