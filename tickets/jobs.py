"""Background jobs: declared by their function, described by :class:`Job`, run with one context.

A job function takes the worker's context first and JSON values after it, and declares the
queue it runs on::

    @job(QueueName.dispatch)
    def dispatch(ctx: JobContext, ticket_id: str) -> str: ...

Producers never spell a job's name: ``Job.of(dispatch, ticket_id)`` derives the dotted path from
the function (as rq does) and the queue from its declaration. The outbox row keeps path, queue
and arguments; the relay puts them on RQ; the worker's job class (:mod:`tickets.worker`) calls
``func(context, *args)`` with the one context object the worker built
(:class:`tickets.jobcontext.JobContext`). Every job is idempotent:
running it twice changes nothing more, so retries and re-sweeps are safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tickets.queues import QueueName

JsonArg = str | int | float | bool | None
F = TypeVar("F", bound=Callable[..., Any])
_QUEUE_ATTR = "__hotline_queue__"


def job(queue: QueueName) -> Callable[[F], F]:
    """Declare a job function and the queue it runs on."""

    def mark(func: F) -> F:
        setattr(func, _QUEUE_ATTR, queue)
        return func

    return mark


def path_of(func: Callable[..., Any]) -> str:
    """``module.function``: how RQ imports the function in the worker."""
    if "<" in func.__qualname__ or "." in func.__qualname__:
        raise ValueError(f"{func.__qualname__} is not a module-level function")
    return f"{func.__module__}.{func.__qualname__}"


def queue_of(func: Callable[..., Any]) -> QueueName:
    queue = getattr(func, _QUEUE_ATTR, None)
    if not isinstance(queue, QueueName):
        raise ValueError(f"{path_of(func)} is not declared with @job(queue)")
    return queue


@dataclass(frozen=True)
class Job:
    """A job to put on RQ once the transaction that wrote it commits (an outbox row)."""

    queue: QueueName
    path: str
    args: tuple[JsonArg, ...]
    delay: float = 0.0  # seconds after the commit before it may run

    @classmethod
    def of(cls, func: Callable[..., Any], *args: JsonArg, delay: float = 0.0) -> Job:
        return cls(queue_of(func), path_of(func), tuple(args), delay)


# ticket id → the jobs to write with a change of that ticket (the id of a new ticket is only
# known inside the transaction that creates it)
JobsFor = Callable[[str], Sequence[Job]]


def no_jobs(_ticket_id: str) -> Sequence[Job]:
    return ()
