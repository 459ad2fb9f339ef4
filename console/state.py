"""What the console's routes share: its configuration and stores, put on ``app.state.console``
by :func:`console.routes.mount` (``None`` while the console is disabled)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from console.config import ConsoleConfig
from console.errors import ConsoleDisabled
from console.people import People
from console.sessions import Sessions
from tickets.db import Database


@dataclass(frozen=True)
class Console:
    config: ConsoleConfig
    people: People
    sessions: Sessions

    @classmethod
    def over(cls, db: Database, config: ConsoleConfig, people: People | None = None) -> Console:
        """The console over the ticket database ``db``."""
        return cls(config, people or People(db), Sessions(db, config))


def console_of(request: Request) -> Console:
    """A dependency: the console, or :class:`ConsoleDisabled` (503) without its secret."""
    console: Console | None = getattr(request.app.state, "console", None)
    if console is None:
        raise ConsoleDisabled()
    return console
