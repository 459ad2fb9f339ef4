"""Live IVR calls and their growing transcripts (pure): known answers."""

from __future__ import annotations

from dataclasses import replace

from console.calls import (
    CallChanged,
    CallLeft,
    Calls,
    Transcript,
    TranscriptChanged,
    heard,
)
from ivr.events import Step, new_call

STATE = new_call("testpbx/1.1", "Local/96010@ivr-test-00000000;2", "+8613800138000", 100.0)
TOPIC = STATE.topic


def test_transcript_grows_with_segments_and_partials() -> None:
    t = Transcript()
    t = heard(t, {"type": "partial", "text": "东四"})
    assert (t.text, t.partial) == ("", "东四")
    t = heard(t, {"type": "segment", "text": "东四 十条"})
    assert (t.text, t.partial) == ("东四十条", "")
    t = heard(t, {"type": "segment", "text": "路灯坏了"})
    assert t.text == "东四十条路灯坏了"  # CJK runs joined (as the final text is)
    t = heard(t, {"type": "partial", "text": "三天"})
    assert t.view() == {"text": "东四十条路灯坏了", "partial": "三天", "final": False,
                        "pending": False}
    t = heard(t, {"type": "final", "text": "东四十条路灯坏了三天了"})
    assert t.view() == {"text": "东四十条路灯坏了三天了", "partial": "", "final": True,
                        "pending": False}
    assert heard(t, {"type": "partial", "text": "late"}).view()["partial"] == ""


def test_pending_and_unknown_messages() -> None:
    assert heard(Transcript(), {"type": "pending", "mode": "batch"}).pending
    assert heard(Transcript(), {"type": "what"}) == Transcript()
    korean = heard(heard(Transcript(), {"type": "segment", "text": "안녕"}),
                   {"type": "segment", "text": "하세요"})
    assert korean.text == "안녕 하세요"


def test_a_call_appears_changes_and_leaves_without_its_phone() -> None:
    calls = Calls()
    change = calls.ivr(STATE, 100.0)
    assert isinstance(change, CallChanged)
    view = change.call.view()
    assert view == {"id": TOPIC, "caller": "+86138****8000", "step": "greeting", "kind": None,
                    "started_at": 100.0, "recording_since": None, "ticket_number": None,
                    "text": "", "partial": "", "final": False, "pending": False}
    assert change.call.state.phone is None
    recording = calls.ivr(replace(STATE, step=Step.record, kind="help", recording_since=105.0),
                          105.0)
    assert isinstance(recording, CallChanged) and recording.call.view()["kind"] == "help"
    left = calls.ivr(replace(STATE, step=Step.ended, ended="takeover"), 110.0)
    assert isinstance(left, CallLeft) and left.why == "takeover"
    assert TOPIC not in calls.live and calls.recent[TOPIC].left_at == 110.0


def test_transcript_of_a_call_keeps_flowing_after_it_left() -> None:
    calls = Calls()
    calls.ivr(STATE, 100.0)
    calls.ivr(replace(STATE, step=Step.ended, ended="takeover"), 110.0)
    change = calls.transcript(TOPIC, {"type": "final", "text": "路灯坏了"})
    assert isinstance(change, TranscriptChanged) and change.call.transcript.text == "路灯坏了"
    # a late state of the call that left does not bring it back
    assert calls.ivr(STATE, 111.0) is None and TOPIC not in calls.live
    calls.expire(110.0 + 601)
    assert calls.get(TOPIC) is None


def test_transcript_before_the_call_is_kept_until_it_appears() -> None:
    calls = Calls(orphans=2)
    assert calls.transcript(TOPIC, {"type": "segment", "text": "你好"}) is None
    calls.transcript("other-1", {"type": "segment", "text": "x"})
    change = calls.ivr(STATE, 100.0)
    assert isinstance(change, CallChanged) and change.call.transcript.text == "你好"
    for n in range(5):  # bounded
        calls.transcript(f"o{n}", {"type": "partial", "text": "y"})
    assert len(calls._orphans) == 2


def test_an_unchanged_transcript_is_no_change() -> None:
    calls = Calls()
    calls.ivr(STATE, 100.0)
    assert calls.transcript(TOPIC, {"type": "partial", "text": "a"}) is not None
    assert calls.transcript(TOPIC, {"type": "partial", "text": "a"}) is None


def test_a_hangup_from_asterisk_removes_a_call_whose_end_was_lost() -> None:
    calls = Calls()
    calls.ivr(STATE, 100.0)
    assert calls.hung_up("PJSIP/other-1", 120.0) is None
    change = calls.hung_up(STATE.channel, 120.0)
    assert isinstance(change, CallLeft) and change.why == "hangup"
    assert calls.hung_up(STATE.channel, 121.0) is None
    assert calls.ivr(replace(STATE, step=Step.ended, ended="done"), 122.0) is None
