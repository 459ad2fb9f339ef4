"""Admission control: a bound on the intakes one process has in flight in the store.

Past the bound an intake is not queued behind the others (where it would wait for the GIL and
the commit with every other, and make them all slower): it is refused at once, and each
channel answers the way its sender retries — the JSON intake 503 with ``Retry-After``, a text
channel spools the message and answers as when the store is late (:mod:`channels.deadline`).
``HOTLINE_MAX_INTAKES_IN_FLIGHT`` sets the bound (:func:`configure`, at start-up).
"""

from __future__ import annotations

import threading

DEFAULT_LIMIT = 32
RETRY_AFTER_SECONDS = 1


class Admission:
    """A counter with a bound; :meth:`enter` never waits."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def enter(self) -> bool:
        """Take a place; False (and nothing taken) when all ``limit`` are taken."""
        with self._lock:
            if self._in_flight >= self.limit:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


# the process's bound on store calls for intakes (the HTTP routes of every channel)
INTAKES = Admission()


def configure(limit: int) -> None:
    """Set the process's bound (``hotline serve`` at start-up, from the settings)."""
    INTAKES.limit = limit
