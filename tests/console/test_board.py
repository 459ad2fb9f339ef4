"""The board (pure): snapshot and deltas from IVR states, transcripts and AMI events."""

from __future__ import annotations

from dataclasses import replace

from console.board import Board
from ivr.events import Step, new_call
from tests.console.ami_samples import EVENTS, HANGUP, QUEUE_STATUS

STATE = new_call("testpbx/1.1", "Local/96010@ivr-test-00000000;2", "+8613800138000", 100.0)


def test_snapshot_of_an_empty_board() -> None:
    assert Board().snapshot(50.0) == {
        "type": "snapshot", "now": 50.0, "calls": [],
        "queue": {"name": "operators-96010", "waiting": [], "members": []},
        "link": {"ami": False, "live": False}}


def test_ivr_call_and_transcript_deltas() -> None:
    board = Board()
    [added] = board.on_ivr(STATE, 100.0)
    assert added["type"] == "call" and added["call"]["caller"] == "+86138****8000"
    assert "phone" not in added["call"] and "channel" not in added["call"]
    [grew] = board.on_transcript(STATE.topic, {"type": "segment", "text": "路灯"})
    assert grew == {"type": "transcript", "id": STATE.topic, "text": "路灯", "partial": "",
                    "final": False, "pending": False}
    assert board.snapshot(101.0)["calls"][0]["text"] == "路灯"
    [gone] = board.on_ivr(replace(STATE, step=Step.ended, ended="takeover"), 102.0)
    assert gone == {"type": "call_gone", "id": STATE.topic, "why": "takeover"}
    assert board.snapshot(103.0)["calls"] == []
    assert board.on_transcript("unknown", {"type": "partial", "text": "x"}) == []


def test_queue_deltas_carry_the_whole_queue_with_display_names() -> None:
    board = Board()
    assert board.set_names({"alice": "王丽"})  # names change the member list's view
    [first] = board.on_ami(EVENTS[0], 10.0)
    assert first["queue"]["members"] == [
        {"interface": "PJSIP/op-x", "login": "alice", "name": "王丽", "state": "available",
         "paused_reason": "", "calls_taken": 0}]
    board.on_ami(EVENTS[1], 10.0)
    [joined] = board.on_ami(EVENTS[2], 11.0)
    assert joined["queue"]["waiting"] == [
        {"id": "1796087064.1", "caller": "138****8000", "position": 1, "since": 11.0,
         "ticket": True}]
    assert board.on_ami({"Event": "Newexten"}, 12.0) == []
    assert board.set_names({"alice": "王丽"}) == []


def test_queue_status_replaces_the_queue() -> None:
    board = Board()
    board.on_ami(EVENTS[0], 10.0)
    [delta] = board.on_queue_status(QUEUE_STATUS, 20.0)
    assert [m["login"] for m in delta["queue"]["members"]] == ["bob"]
    assert delta["queue"]["waiting"][0]["since"] == 14.0


def test_link_changes_only_when_they_change() -> None:
    board = Board()
    assert board.on_link(ami=True) == [{"type": "link", "ami": True, "live": False}]
    assert board.on_link(ami=True) == []
    assert board.on_link(live=True) == [{"type": "link", "ami": True, "live": True}]


def test_asterisk_hangup_clears_a_ghost_call() -> None:
    board = Board()
    ghost = replace(STATE, channel=HANGUP["Channel"])
    board.on_ivr(ghost, 100.0)
    [gone] = board.on_ami(HANGUP, 200.0)
    assert gone == {"type": "call_gone", "id": STATE.topic, "why": "hangup"}
