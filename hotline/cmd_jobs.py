"""CLI commands: ``hotline jobs failed`` and ``hotline jobs retry`` — the dead-letter view of
the job queues."""

from __future__ import annotations

import argparse
from typing import Any

from redis.exceptions import RedisError

from hotline.context import CliContext
from hotline.errors import CliError
from tickets import deadletter
from tickets.queues import ALL_QUEUES, QueueName


def _queues(args: argparse.Namespace) -> list[QueueName]:
    if not args.queue:
        return list(ALL_QUEUES)
    try:
        return [QueueName(q) for q in args.queue]
    except ValueError:
        names = ", ".join(q.value for q in ALL_QUEUES)
        raise CliError(f"unknown queue in {', '.join(args.queue)}; choose from: {names}") \
            from None


def _failed(ctx: CliContext, args: argparse.Namespace) -> int:
    try:
        jobs = deadletter.failed(ctx.redis, _queues(args))
    except RedisError as exc:
        raise CliError(f"Redis does not answer ({exc}); check HOTLINE_REDIS_URL") from None
    for job in jobs:
        ended = f"{job.ended_at:%Y-%m-%d %H:%M}" if job.ended_at else "-"
        print(f"{job.id}  {job.queue.value:10}  {ended}  {job.path}{list(job.args)}  "
              f"{job.error[:120]}")
    print(f"{len(jobs)} failed job(s)")
    return 0


def _retry(ctx: CliContext, args: argparse.Namespace) -> int:
    if not args.all and not args.ids:
        raise CliError("name the job ids to retry (see: hotline jobs failed), or --all")
    try:
        count = deadletter.retry(ctx.redis, _queues(args), None if args.all else args.ids)
    except RedisError as exc:
        raise CliError(f"Redis does not answer ({exc}); check HOTLINE_REDIS_URL") from None
    print(f"requeued {count} job(s)")
    return 0 if count or args.all else 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    jobs = sub.add_parser("jobs", help="jobs that failed every retry: list and retry them")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    p = jobs_sub.add_parser("failed", help="list the failed jobs")
    p.add_argument("--queue", action="append", help="only this queue (repeatable)")
    p.set_defaults(handler=_failed)
    p = jobs_sub.add_parser("retry", help="put failed jobs back on their queue")
    p.add_argument("ids", nargs="*", metavar="JOB_ID")
    p.add_argument("--all", action="store_true", help="every failed job (of --queue)")
    p.add_argument("--queue", action="append", help="only this queue (repeatable)")
    p.set_defaults(handler=_retry)
