"""Vosk JSON → typed results (pure, no I/O).

Vosk answers with JSON strings: a final segment ``{"result": [{"conf", "start", "end",
"word"}...], "text": "..."}`` (``result`` only with ``SetWords(True)``), a partial
``{"partial": "..."}`` and an empty final ``{"text": ""}``. :func:`parse_final` and
:func:`parse_partial` turn them into :class:`Segment` and text; :func:`combine` joins the
segments of one stream into a :class:`Recognition`, which maps onto the ticket's
:class:`tickets.model.Transcript` through :meth:`Recognition.transcript`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tickets.model import Transcript
from transcription.chinese import postprocess


class VoskResultError(ValueError):
    """A Vosk answer that is not the JSON shape Vosk documents."""


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds from the start of the stream
    end: float
    conf: float


@dataclass(frozen=True)
class Segment:
    """One final result (an utterance between two endpoints)."""

    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Recognition:
    """Everything recognised in one stream or file."""

    text: str  # post-processed (CJK runs joined, numbers normalised)
    raw_text: str  # Vosk's words separated by spaces
    confidence: float | None  # mean word confidence; None without words
    words: tuple[Word, ...] = field(default=())
    duration: float = 0.0  # seconds of audio decoded

    def transcript(self, model: str) -> Transcript:
        return Transcript(text=self.text, confidence=self.confidence, engine="vosk", model=model)

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "raw_text": self.raw_text,
            "confidence": self.confidence,
            "duration": round(self.duration, 3),
            "words": [
                {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf}
                for w in self.words
            ],
        }


def _loads(raw: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise VoskResultError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise VoskResultError("not a JSON object")
    return doc


def _number(item: dict[str, Any], key: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VoskResultError(f"word entry without numeric '{key}'")
    return float(value)


def _word(item: Any) -> Word:
    if not isinstance(item, dict) or not isinstance(item.get("word"), str):
        raise VoskResultError("word entry without 'word'")
    conf = min(1.0, max(0.0, _number(item, "conf")))
    return Word(item["word"], _number(item, "start"), _number(item, "end"), conf)


def parse_final(raw: str) -> Segment:
    """A final result (``Result()`` / ``FinalResult()``) as a :class:`Segment`."""
    doc = _loads(raw)
    text = doc.get("text")
    if not isinstance(text, str):
        raise VoskResultError("final result without 'text'")
    items = doc.get("result", [])
    if not isinstance(items, list):
        raise VoskResultError("'result' is not a list")
    return Segment(text=" ".join(text.split()), words=tuple(_word(i) for i in items))


def parse_partial(raw: str) -> str:
    """The text of a partial result (``PartialResult()``)."""
    doc = _loads(raw)
    partial = doc.get("partial")
    if not isinstance(partial, str):
        raise VoskResultError("partial result without 'partial'")
    return " ".join(partial.split())


def combine(segments: list[Segment], duration: float = 0.0) -> Recognition:
    """Join the segments of one stream: text, post-processing, mean word confidence."""
    raw = " ".join(s.text for s in segments if s.text)
    words = tuple(w for s in segments for w in s.words)
    confidence = round(sum(w.conf for w in words) / len(words), 4) if words else None
    return Recognition(text=postprocess(raw), raw_text=raw, confidence=confidence, words=words,
                       duration=duration)


def parse_recognition(doc: dict[str, Any]) -> Recognition:
    """A recognition back from its :meth:`Recognition.as_json` (what a recognizer process
    answers a finished stream with)."""
    text, raw = doc.get("text"), doc.get("raw_text", doc.get("text"))
    if not isinstance(text, str) or not isinstance(raw, str):
        raise VoskResultError("recognition without 'text'")
    items = doc.get("words", [])
    if not isinstance(items, list):
        raise VoskResultError("'words' is not a list")
    confidence = doc.get("confidence")
    duration = doc.get("duration", 0.0)
    return Recognition(
        text=text, raw_text=raw,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        words=tuple(_word(i) for i in items),
        duration=float(duration) if isinstance(duration, int | float) else 0.0)
