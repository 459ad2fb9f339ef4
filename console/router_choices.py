"""The router's configuration as the console's pages use it (places and categories to pick
from), loaded on first use: importing it pulls in the gazetteer's segmenter and shapely, which
a gateway should not pay for at start-up. The app factory puts one :class:`RouterChoices` per
process on ``app.state.router_choices``; pages get it through :data:`ChoicesDep`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from console.ticket_view import Choices

if TYPE_CHECKING:
    from router.routerconfig import RouterConfig


class RouterChoices:
    def __init__(self, load: Callable[[], RouterConfig]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: tuple[RouterConfig, Choices] | None = None

    @classmethod
    def from_folder(cls, folder: Path) -> RouterChoices:
        def load() -> RouterConfig:
            from router import routerconfig

            return routerconfig.load(folder)

        return cls(load)

    def loaded(self) -> tuple[RouterConfig, Choices]:
        with self._lock:
            if self._loaded is None:
                config = self._load()
                self._loaded = (config, Choices.of(config))
            return self._loaded

    async def get(self) -> tuple[RouterConfig, Choices]:
        return await run_in_threadpool(self.loaded)


def get_choices(request: Request) -> RouterChoices:
    choices: RouterChoices = request.app.state.router_choices
    return choices


ChoicesDep = Annotated[RouterChoices, Depends(get_choices)]
