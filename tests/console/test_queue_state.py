"""The queue state from real AMI events (tests/console/ami_samples.py, recorded from the test
Asterisk): known answers after each step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from console.queue_state import (
    Device,
    Member,
    QueueState,
    Waiting,
    apply,
    from_status,
)
from tests.console.ami_samples import EVENTS, QUEUE_STATUS

TICKET = "86413d7e393d47eaab373b6de231a6e3"
A_CHANNEL = "Local/96010@ivr-test-00000000;2"
B_CHANNEL = "Local/96010@ivr-test-00000001;2"


def run(events: Sequence[Mapping[str, str]], start: QueueState | None = None,
        now: float = 1000.0) -> QueueState:
    state = start or QueueState()
    for event in events:
        state = apply(state, event, now)
    return state


def test_members_join_with_their_device_state_and_pause() -> None:
    state = run(EVENTS[:2])
    assert state.members == {
        "PJSIP/op-x": Member("PJSIP/op-x", "alice", Device.not_inuse),
        "Local/s@ring-only/n": Member("Local/s@ring-only/n", "bob", Device.not_inuse,
                                      paused=True),
    }
    assert state.members["PJSIP/op-x"].state == "available"
    assert state.members["Local/s@ring-only/n"].state == "paused"


def test_a_caller_waits_with_masked_number_and_ticket() -> None:
    state = run(EVENTS[:3], now=1000.0)
    assert state.waiting == (Waiting(A_CHANNEL, "1796087064.1", "138****8000", 1, 1000.0,
                                     TICKET),)


def test_the_member_rings_then_talks_then_is_free_again() -> None:
    ringing = run(EVENTS[:4])
    assert ringing.members["PJSIP/op-x"].ringing == A_CHANNEL
    assert ringing.members["PJSIP/op-x"].state == "ringing"
    busy = run(EVENTS[:5])  # QueueMemberStatus Status 3 (busy)
    assert busy.members["PJSIP/op-x"].device is Device.busy
    connected = run(EVENTS[:7])  # QueueCallerLeave, AgentConnect
    assert connected.waiting == ()
    member = connected.members["PJSIP/op-x"]
    assert (member.ringing, member.talking_to, member.state) == (None, A_CHANNEL, "talking")
    done = run(EVENTS[:9])  # AgentComplete, QueueMemberStatus Status 1
    member = done.members["PJSIP/op-x"]
    assert (member.talking_to, member.state, member.calls_taken) == (None, "available", 1)


def test_a_removed_member_is_gone() -> None:
    state = run(EVENTS[:10])
    assert list(state.members) == ["Local/s@ring-only/n"]


def test_nobody_answers_and_the_caller_abandons() -> None:
    state = run(EVENTS[:14])  # unpaused bob, second caller joins, AgentCalled bob
    assert [w.channel for w in state.waiting] == [B_CHANNEL]
    assert state.members["Local/s@ring-only/n"].ringing == B_CHANNEL
    no_answer = run(EVENTS[:15])
    assert no_answer.members["Local/s@ring-only/n"].ringing is None
    abandoned = run(EVENTS[:16])
    assert abandoned.waiting == ()
    final = run(EVENTS)
    assert final.waiting == () and final.members["Local/s@ring-only/n"].state == "available"


def test_abandon_while_ringing_stops_the_ringing() -> None:
    ringing = run([e for e in EVENTS[:14]])
    abandon = next(e for e in EVENTS if e["Event"] == "QueueCallerAbandon")
    after = apply(ringing, abandon, 2000.0)
    assert after.members["Local/s@ring-only/n"].ringing is None
    assert after.waiting == ()


def test_queue_status_gives_members_and_waiting_callers_with_their_wait() -> None:
    state = from_status(QUEUE_STATUS, now=2000.0)
    assert state.members == {"Local/s@ring-only/n": Member(
        "Local/s@ring-only/n", "bob", Device.inuse)}
    assert state.waiting == (Waiting(B_CHANNEL, "1796087079.4", "139****9000", 1, 1994.0),)


def test_events_of_other_queues_or_unknown_members_change_nothing() -> None:
    state = run(EVENTS[:3])
    other = {**EVENTS[0], "Queue": "sales"}
    assert apply(state, other, 1.0) is state
    stranger = {**EVENTS[3], "Interface": "PJSIP/op-nobody"}
    assert apply(state, stranger, 1.0) is state
    assert apply(state, {"Event": "Newexten", "Queue": state.name}, 1.0) is state
    leave_unknown = {**EVENTS[5], "Channel": "Local/other;2"}
    assert apply(state, leave_unknown, 1.0) is state


def test_positions_are_renumbered_as_callers_leave() -> None:
    join = EVENTS[2]
    state = QueueState()
    for n, channel in enumerate(["c1", "c2", "c3"], start=1):
        state = apply(state, {**join, "Channel": channel, "Position": str(n)}, float(n))
    state = apply(state, {**EVENTS[5], "Channel": "c1"}, 5.0)
    assert [(w.channel, w.position) for w in state.waiting] == [("c2", 1), ("c3", 2)]


def test_garbage_numbers_do_not_raise() -> None:
    state = apply(QueueState(), {**EVENTS[0], "Status": "x", "CallsTaken": "", "Paused": "?"},
                  1.0)
    member = state.members["PJSIP/op-x"]
    assert (member.device, member.calls_taken, member.paused) == (Device.unknown, 0, False)
    anonymous = apply(QueueState(), {**EVENTS[2], "CallerIDNum": "<unknown>"}, 1.0)
    assert anonymous.waiting[0].caller == ""
