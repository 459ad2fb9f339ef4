"""The status machine of the seven-step loop, as a full table."""

from __future__ import annotations

import itertools

import pytest

from tickets.model import Status
from tickets.status import TERMINAL, TRANSITIONS, IllegalTransition, check_transition

S = Status
LEGAL = {
    (S.received, S.registered), (S.received, S.merged), (S.received, S.rejected),
    (S.registered, S.dispatched), (S.registered, S.merged), (S.registered, S.rejected),
    (S.dispatched, S.in_progress), (S.dispatched, S.registered), (S.dispatched, S.merged),
    (S.dispatched, S.rejected),
    (S.in_progress, S.resolved),
    (S.resolved, S.closed), (S.resolved, S.in_progress),
    (S.closed, S.evaluated),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Status, Status)))
def test_transition_table(current: Status, target: Status) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        assert f"'{current}'" in str(info.value) and f"'{target}'" in str(info.value)


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Status)


def test_terminal_statuses() -> None:
    assert {S.evaluated, S.merged, S.rejected} == TERMINAL


def test_the_happy_path_walks_the_seven_steps() -> None:
    path = [S.received, S.registered, S.dispatched, S.in_progress, S.resolved, S.closed,
            S.evaluated]
    for a, b in itertools.pairwise(path):
        check_transition(a, b)
