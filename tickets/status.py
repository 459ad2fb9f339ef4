"""The status machine of the seven-step loop (DESIGN.md): legal transitions only."""

from __future__ import annotations

from tickets.model import Status

S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.received: frozenset({S.registered, S.merged, S.rejected}),
    S.registered: frozenset({S.dispatched, S.merged, S.rejected}),
    # A destination may hand a case back for re-dispatch.
    S.dispatched: frozenset({S.in_progress, S.registered, S.merged, S.rejected}),
    S.in_progress: frozenset({S.resolved}),
    # Verification failed: back to handling.
    S.resolved: frozenset({S.closed, S.in_progress}),
    S.closed: frozenset({S.evaluated}),
    S.evaluated: frozenset(),
    S.merged: frozenset(),
    S.rejected: frozenset(),
}

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransition(ValueError):
    """A status change the loop does not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final status)"
        super().__init__(
            f"cannot move a ticket from '{current}' to '{target}'; allowed next: {allowed}"
        )
        self.current = current
        self.target = target


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
