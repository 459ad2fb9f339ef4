"""The calls now in the IVR, as the board shows them (pure: messages in, changes out).

Two sources feed it, both Redis pub/sub messages already decoded to JSON:

* the IVR's call states (:mod:`ivr.events`): a call appears, changes step, and leaves the IVR
  (``step == "ended"``: hung up, done, queued for an operator, taken over);
* the live transcripts (``hotline:transcript:<topic>``, :mod:`transcription.publish`):
  ``segment`` (a finished stretch, appended), ``partial`` (the stretch being heard, replaced),
  ``final`` (the whole text), ``pending`` (no live text: the batch job will transcribe).

A call that left the IVR stays *recent* for :data:`RECENT_SECONDS`, so that its transcript
keeps reaching the operator's screen-pop after a takeover (the final text comes seconds after
the recording ends). Transcript messages of a call not seen yet (the console started mid-call,
or the call's first state is still on its way) are kept, bounded, until it appears.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ivr.events import CallState, Step

RECENT_SECONDS = 600.0
GONE = "gone"  # why a call left when Redis no longer had it (resync): it may come back
ORPHANS = 500  # transcripts of calls not seen yet, kept at most
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uff00-\uffef]) (?=[\u3400-\u9fff\uff00-\uffef])")


@dataclass(frozen=True)
class Transcript:
    segments: tuple[str, ...] = ()
    partial: str = ""
    final: str | None = None
    pending: bool = False  # no live recognition for this call: the batch job will do it

    @property
    def text(self) -> str:
        """What was understood so far (finished segments; the final text once there)."""
        if self.final is not None:
            return self.final
        return _CJK_GAP.sub("", " ".join(s for s in self.segments if s))

    def view(self) -> dict[str, Any]:
        return {"text": self.text, "partial": "" if self.final is not None else self.partial,
                "final": self.final is not None, "pending": self.pending}


def heard(transcript: Transcript, message: Mapping[str, Any]) -> Transcript:
    """The transcript after one ``hotline:transcript:`` message (unknown kinds: unchanged)."""
    kind = message.get("type")
    text = str(message.get("text") or "")
    if kind == "partial":
        return replace(transcript, partial=text)
    if kind == "segment":
        return replace(transcript, segments=(*transcript.segments, text), partial="")
    if kind == "final":
        return replace(transcript, final=text, partial="", pending=False)
    if kind == "pending":
        return replace(transcript, pending=True)
    return transcript


@dataclass(frozen=True)
class LiveCall:
    state: CallState
    transcript: Transcript = Transcript()
    left_at: float | None = None  # epoch seconds the call left the IVR

    @property
    def id(self) -> str:
        return self.state.topic

    def view(self) -> dict[str, Any]:
        """The call as pages see it: no phone number, no channel."""
        s = self.state
        return {"id": s.topic, "caller": s.caller, "step": s.step.value, "kind": s.kind,
                "started_at": s.started_at, "recording_since": s.recording_since,
                "ticket_number": s.ticket_number, **self.transcript.view()}


@dataclass(frozen=True)
class CallChanged:
    call: LiveCall


@dataclass(frozen=True)
class CallLeft:
    call: LiveCall
    why: str


@dataclass(frozen=True)
class TranscriptChanged:
    call: LiveCall


Change = CallChanged | CallLeft | TranscriptChanged


class Calls:
    """Every call in the IVR (and the recent ones), by topic."""

    def __init__(self, *, recent_seconds: float = RECENT_SECONDS, orphans: int = ORPHANS) -> None:
        self.live: dict[str, LiveCall] = {}
        self.recent: dict[str, LiveCall] = {}
        self._orphans: OrderedDict[str, Transcript] = OrderedDict()
        self._by_channel: dict[str, str] = {}
        self.recent_seconds = recent_seconds
        self.orphan_limit = orphans

    def get(self, topic: str) -> LiveCall | None:
        return self.live.get(topic) or self.recent.get(topic)

    def ivr(self, state: CallState, now: float) -> Change | None:
        """A call state from the IVR."""
        topic = state.topic
        old = self.live.get(topic)
        if state.step is Step.ended:
            if old is None:
                return None
            del self.live[topic]
            self._by_channel.pop(old.state.channel, None)
            left = replace(old, state=state, left_at=now)
            self.recent[topic] = left
            return CallLeft(left, state.ended or "ended")
        if old is None and topic in self.recent:
            if self.recent[topic].state.ended != GONE:
                return None  # a late message of a call that already left
            del self.recent[topic]  # it had only vanished from Redis (restarted): back
        transcript = old.transcript if old else self._orphans.pop(topic, Transcript())
        call = LiveCall(replace(state, phone=None), transcript)
        self.live[topic] = call
        self._by_channel[state.channel] = topic
        return CallChanged(call)

    def transcript(self, topic: str, message: Mapping[str, Any]) -> Change | None:
        """A live transcript message of the call ``topic``."""
        call = self.get(topic)
        if call is None:
            self._orphans[topic] = heard(self._orphans.pop(topic, Transcript()), message)
            while len(self._orphans) > self.orphan_limit:
                self._orphans.popitem(last=False)
            return None
        changed = replace(call, transcript=heard(call.transcript, message))
        if changed == call:
            return None
        (self.live if topic in self.live else self.recent)[topic] = changed
        return TranscriptChanged(changed)

    def hung_up(self, channel: str, now: float) -> Change | None:
        """Asterisk says ``channel`` is gone: a call whose "ended" never came (Redis was down
        at that moment) leaves the board anyway."""
        topic = self._by_channel.get(channel)
        call = self.live.get(topic) if topic else None
        if call is None:
            return None
        return self.ivr(replace(call.state, step=Step.ended, ended="hangup"), now)

    def expire(self, now: float) -> None:
        for topic in [t for t, c in self.recent.items()
                      if c.left_at is not None and now - c.left_at > self.recent_seconds]:
            del self.recent[topic]
