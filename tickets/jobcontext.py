"""What every job gets from the worker that runs it: one context object (``hotline.worker``
builds it once per worker process). Rooms extend the protocol with what their jobs need."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tickets.store import Store


class JobContext(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def media_dir(self) -> Path: ...
