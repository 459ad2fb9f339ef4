"""Vosk JSON → typed results, with literal Vosk answers."""

from __future__ import annotations

import pytest

from tickets.model import Transcript
from transcription.result import (
    Segment,
    VoskResultError,
    Word,
    combine,
    parse_final,
    parse_partial,
)

FINAL_ZH = """{
  "result" : [{
      "conf" : 1.000000,
      "end" : 1.020000,
      "start" : 0.600000,
      "word" : "东"
    }, {
      "conf" : 0.75,
      "end" : 1.35,
      "start" : 1.02,
      "word" : "四"
    }],
  "text" : "东 四"
}"""


def test_final_with_words() -> None:
    segment = parse_final(FINAL_ZH)
    assert segment == Segment(
        text="东 四",
        words=(Word("东", 0.6, 1.02, 1.0), Word("四", 1.02, 1.35, 0.75)),
    )


def test_final_without_words_and_empty() -> None:
    assert parse_final('{"text" : "안녕하세요 감사합니다"}') == Segment("안녕하세요 감사합니다")
    assert parse_final('{\n  "text" : ""\n}') == Segment("")


def test_partial() -> None:
    assert parse_partial('{\n  "partial" : "东 四 十"\n}') == "东 四 十"
    assert parse_partial('{"partial" : ""}') == ""


@pytest.mark.parametrize("raw", [
    "", "[]", "{", '{"partial": "x"}', '{"text": 1}', '{"text": "a", "result": {}}',
    '{"text": "a", "result": [{"word": "a", "start": 0, "end": 1}]}',
    '{"text": "a", "result": [{"word": "a", "start": 0, "end": true, "conf": 1}]}',
])
def test_malformed_final(raw: str) -> None:
    with pytest.raises(VoskResultError):
        parse_final(raw)


def test_malformed_partial() -> None:
    with pytest.raises(VoskResultError):
        parse_partial('{"text": "a"}')


def test_combine_joins_segments_postprocesses_and_averages() -> None:
    segments = [
        parse_final(FINAL_ZH),
        parse_final('{"result": [{"conf": 0.5, "end": 2.4, "start": 2.0, "word": "十"},'
                    '{"conf": 0.25, "end": 2.8, "start": 2.4, "word": "条"}],'
                    '"text": "十 条"}'),
        Segment(""),
    ]
    recognition = combine(segments, duration=3.0)
    assert recognition.raw_text == "东 四 十 条"
    assert recognition.text == "东四十条"
    assert recognition.confidence == pytest.approx((1.0 + 0.75 + 0.5 + 0.25) / 4)
    assert [w.word for w in recognition.words] == ["东", "四", "十", "条"]
    assert recognition.transcript("vosk-model-small-cn-0.22") == Transcript(
        text="东四十条", confidence=0.625, engine="vosk", model="vosk-model-small-cn-0.22"
    )


def test_combine_of_nothing() -> None:
    recognition = combine([Segment("")])
    assert (recognition.text, recognition.confidence, recognition.words) == ("", None, ())


def test_confidence_is_clamped_to_the_transcript_range() -> None:
    segment = parse_final('{"result": [{"conf": 1.0000001, "end": 1, "start": 0, "word": "a"}],'
                          '"text": "a"}')
    assert segment.words[0].conf == 1.0
