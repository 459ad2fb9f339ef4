"""Fixtures for tests against real services: a real Asterisk 22 from the cached sid chroot.

``asterisk_factory(agi_port=..., **kwargs)`` starts an instance (see
:class:`tests.support.asterisk.Asterisk`) and stops every instance it started at teardown,
whatever the test did. ``asterisk`` is one started instance whose AGI port is a free port that
nothing listens on until the test starts its own FastAGI server there (``asterisk.agi_port``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.asterisk import Asterisk
from tests.support.services import free_port, require_root

AsteriskFactory = Callable[..., Asterisk]


def _require_root() -> None:
    require_root()


@pytest.fixture
def asterisk_factory(tmp_path: Path) -> Iterator[AsteriskFactory]:
    _require_root()
    started: list[Asterisk] = []

    def make(*, agi_port: int | None = None, shared_dir: Path | None = None,
             name: str = "asterisk", **kwargs: Any) -> Asterisk:
        instance = Asterisk(
            tmp_path / f"{name}-{len(started)}",
            agi_port=agi_port if agi_port is not None else free_port(),
            shared_dir=shared_dir or tmp_path / "shared",
            **kwargs,
        )
        started.append(instance)
        instance.start()
        return instance

    try:
        yield make
    finally:
        for instance in started:
            instance.stop()


@pytest.fixture
def asterisk(asterisk_factory: AsteriskFactory) -> Asterisk:
    return asterisk_factory()
