"""The one error type of the Open311 channel, answered as the spec's error document."""

from __future__ import annotations


class Open311Error(Exception):
    """An answer of ``status`` with ``[{code, description}]`` / ``<errors><error>…``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
