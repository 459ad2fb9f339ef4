"""The live board (pure): IVR calls with their transcripts, the operator queue and its members,
and whether the links behind them are up — as one snapshot and as deltas for the pages.

Every ``on_*`` method takes one input and returns the deltas to push (possibly none); pages
apply them to the snapshot they started from. Deltas (``type``):

* ``call`` — a call in the IVR appeared or changed (``call``: :meth:`LiveCall.view`);
* ``call_gone`` — it left the IVR (``id``, ``why``: hangup, done, operator, takeover, …);
* ``transcript`` — its transcript grew (``id``, ``text``, ``partial``, ``final``, ``pending``);
  sent for recent calls too, which the screen-pop shows;
* ``queue`` — the queue changed (``queue``: :meth:`Board.queue_view`, small: the whole view);
* ``link`` — Asterisk (``ami``) or the live feed (``live``, Redis) went up or down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from console import queue_state
from console.calls import CallChanged, CallLeft, Calls, Change, TranscriptChanged
from console.queue_state import QUEUE, QueueState
from ivr.events import CallState

Delta = dict[str, Any]


def _delta(change: Change | None) -> list[Delta]:
    if change is None:
        return []
    if isinstance(change, CallChanged):
        return [{"type": "call", "call": change.call.view()}]
    if isinstance(change, CallLeft):
        return [{"type": "call_gone", "id": change.call.id, "why": change.why}]
    assert isinstance(change, TranscriptChanged)
    return [{"type": "transcript", "id": change.call.id, **change.call.transcript.view()}]


class Board:
    def __init__(self, queue: str = QUEUE) -> None:
        self.calls = Calls()
        self.queue = QueueState(queue)
        self.ami_up = False
        self.live_up = False
        self.names: dict[str, str] = {}  # login -> display name

    # -- inputs ----------------------------------------------------------------------------
    def on_ivr(self, state: CallState, now: float) -> list[Delta]:
        self.calls.expire(now)
        return _delta(self.calls.ivr(state, now))

    def on_transcript(self, topic: str, message: Mapping[str, Any]) -> list[Delta]:
        return _delta(self.calls.transcript(topic, message))

    def on_ami(self, event: Mapping[str, str], now: float) -> list[Delta]:
        if event.get("Event") == "Hangup":
            return _delta(self.calls.hung_up(event.get("Channel", ""), now))
        after = queue_state.apply(self.queue, event, now)
        if after is self.queue:
            return []
        self.queue = after
        return [self.queue_delta()]

    def on_queue_status(self, replies: Iterable[Mapping[str, str]], now: float) -> list[Delta]:
        self.queue = queue_state.from_status(replies, now, self.queue.name)
        return [self.queue_delta()]

    def on_link(self, *, ami: bool | None = None, live: bool | None = None) -> list[Delta]:
        before = (self.ami_up, self.live_up)
        if ami is not None:
            self.ami_up = ami
        if live is not None:
            self.live_up = live
        if (self.ami_up, self.live_up) == before:
            return []
        return [{"type": "link", **self.link_view()}]

    def set_names(self, names: Mapping[str, str]) -> list[Delta]:
        if dict(names) == self.names:
            return []
        self.names = dict(names)
        return [self.queue_delta()]

    # -- views -----------------------------------------------------------------------------
    def link_view(self) -> dict[str, bool]:
        return {"ami": self.ami_up, "live": self.live_up}

    def queue_view(self) -> dict[str, Any]:
        q = self.queue
        members = sorted(q.members.values(), key=lambda m: m.name)
        return {
            "name": q.name,
            "waiting": [{"id": w.unique_id, "caller": w.caller, "position": w.position,
                         "since": w.since, "ticket": w.ticket_id is not None}
                        for w in q.waiting],
            "members": [{"interface": m.interface, "login": m.name,
                         "name": self.names.get(m.name, m.name), "state": m.state,
                         "paused_reason": m.paused_reason, "calls_taken": m.calls_taken}
                        for m in members],
        }

    def queue_delta(self) -> Delta:
        return {"type": "queue", "queue": self.queue_view()}

    def snapshot(self, now: float) -> Delta:
        self.calls.expire(now)
        calls = sorted(self.calls.live.values(), key=lambda c: c.state.started_at)
        return {"type": "snapshot", "now": now, "calls": [c.view() for c in calls],
                "queue": self.queue_view(), "link": self.link_view()}
