"""A text channel answers within its provider's deadline, whatever the store does.

Twilio gives up on a webhook after 15 s and WeChat after 5 s (then retries, or drops the
message while the resident sees nothing); a resident at the web form waits no longer either.
So a channel files its message under a :class:`Deadline` (its ``HOTLINE_*_DEADLINE``); past
it the store's thread goes on (it cannot be stopped, and what it commits is idempotent on the
message's ``channel_ref``), the message goes durably to the fallback spool
(:func:`tickets.spoolfiles.write_text_entry`) and the resident reads :data:`DELAYED`. The
spool's ingester files it later by the same rule (:mod:`channels.spooled`), so a message the
stalled thread, a provider's retry or the ingester files first is filed once. What is no
message (a WeChat menu click or LOCATION, a status-page answer) is spooled the same way
(:func:`spool_inbound_late`) and handled later by the live path's own handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from channels.inbound import WebAnswer, WechatEvent
from tickets.admission import INTAKES
from tickets.httperrors import ApiError
from tickets.model import Channel, Intake
from tickets.spoolfiles import write_inbound_entry, write_text_entry

log = logging.getLogger(__name__)

T = TypeVar("T")

DELAYED = "已收到，工单号稍后发送"


class Late(Exception):
    """The store did not answer before the channel's deadline."""


class Overloaded(Late):
    """The process already has its bound of intakes in flight
    (:data:`tickets.admission.INTAKES`): the message is answered as if the store were late
    (spooled, :data:`DELAYED`), without adding to the queue."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a thread; :class:`Late` once the deadline has passed (the thread
        goes on: its result is dropped)."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise Late
        if not INTAKES.enter():
            raise Overloaded
        try:
            task = asyncio.ensure_future(run_in_threadpool(work))
        except BaseException:
            INTAKES.leave()
            raise
        task.add_done_callback(_leave)
        try:
            return await asyncio.wait_for(asyncio.shield(task), left)
        except TimeoutError:
            task.add_done_callback(_forget)
            raise Late from None


def _leave(_task: asyncio.Future[Any]) -> None:
    INTAKES.leave()  # when the store call ends, not when the channel stops waiting for it


def _forget(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a late store call failed after its channel answered: %r",
                    task.exception())


async def spool_late(spool_dir: Path | None, intake: Intake, at: datetime,
                     deadline: float) -> None:
    """Keep ``intake`` in the spool for the ingester; a 503 (the provider retries) when there
    is no spool or it cannot be written — nothing is acknowledged that is not kept."""
    await _keep(spool_dir, partial(write_text_entry, intake=intake, at=at),
                f"{intake.channel.value} message {intake.channel_ref}", deadline)


async def spool_inbound_late(spool_dir: Path | None, unique_id: str, channel: Channel,
                             inbound: WechatEvent | WebAnswer, deadline: float) -> None:
    """Keep what is no message (a WeChat event, a status-page answer) for the ingester, which
    hands it to the live path's handler (:func:`channels.spooled.file_inbound`); a 503 as
    :func:`spool_late`."""
    write = partial(write_inbound_entry, unique_id=unique_id, channel=channel.value,
                    inbound=inbound.model_dump_json(), received_at=inbound.at,
                    at=datetime.now(UTC))
    await _keep(spool_dir, write, f"{channel.value} {inbound.type}", deadline)


async def _keep(spool_dir: Path | None, write: Callable[..., Path], what: str,
                deadline: float) -> None:
    if spool_dir is None:
        raise ApiError(503, "the ticket store did not answer in time; try again", "store_late")
    try:
        sidecar = await run_in_threadpool(write, spool_dir)
    except OSError as exc:
        log.error("%s: the store did not answer in %.1f s and the spool cannot be written "
                  "(%s)", what, deadline, exc)
        raise ApiError(503, "the ticket store did not answer in time; try again",
                       "store_late") from None
    log.warning("%s: the store did not answer in %.1f s; spooled as %s", what, deadline,
                sidecar.name)
