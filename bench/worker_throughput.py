"""Worker throughput: jobs/s of each job an intake causes, against an empty RQ job.

    python -m bench.worker_throughput [--intakes 600] [--repeats 3] [--profile DIR]

The production shape of the worker (bench/chaos): PostgreSQL with fsync on, Redis with an
append-only file fsynced on every write, the context ``hotline worker`` builds
(:func:`hotline.worker.worker_context`, settings from ``HOTLINE_*``), the Twilio and WeChat
clients pointed at local stand-ins (tests/support), webhooks to a local receiver. Each repeat
submits ``--intakes`` intakes (SMS, WeChat and API in turn, the chaos run's texts: most are
the same matter in the same street, so most are merged into an earlier ticket), relays their
jobs to RQ and lets one ``ContextWorker`` run each queue in burst mode: the dispatch jobs, then
the notifications (SMS and WeChat), then the webhook deliveries; before them, as many empty
jobs (the baseline: what RQ itself costs per job on this machine, in this run). Tickets pile
up over the repeats, as in a long run. ``--profile`` records where the worker's time goes
(bench/sampler.py) into DIR.

Writes bench/results/worker_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.connection import AbstractConnection
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job as RqJob

from bench.chaos.channels import TEXTS
from bench.chaos.cluster import Postgres
from bench.chaos.receivers import Receivers, receivers
from bench.chaos.secrets import fresh
from bench.common import percentile
from bench.sampler import Sampler, write
from channels.wechat import state
from hotline.context import CliContext, settings_or_error
from hotline.worker import WorkerContext, worker_context
from tests.support.services import RedisServer
from tickets import notifications as nt
from tickets.jobs import job, path_of
from tickets.model import Channel, Citizen, Intake
from tickets.queues import JOB_TIMEOUT, QueueName, queue
from tickets.relay import relay_once
from tickets.store import Store
from tickets.worker import ContextWorker

RESULTS = Path(__file__).parent / "results"
CREDS = fresh()  # HOTLINE_ENV=production refuses weak secrets
SEND_NOTIFICATION = "channels.notify.send_notification"
KINDS = ("empty", "dispatch", "notify sms", "notify wechat", "deliver webhook")


@job(QueueName.dispatch)
def empty(ctx: object, n: int) -> int:
    """The baseline: a job that does nothing (RQ's own cost per job)."""
    return n


@dataclass
class Timed:
    wall: float
    cpu: float
    redis: int  # requests sent to Redis (a pipeline is one): round trips


class RoundTrips:
    """Counts this process's round trips to Redis (the count does not depend on the machine's
    load, the times do)."""

    redis = 0

    @classmethod
    def install(cls) -> None:
        send = AbstractConnection.send_packed_command

        def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
            cls.redis += 1
            send(self, command, check_health)  # type: ignore[no-untyped-call]

        AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]



class TimedWorker(ContextWorker):
    """``hotline worker``'s worker, noting each job's wall and CPU time (RQ's work inside
    ``perform_job`` included: the result, the registries)."""

    def __init__(self, queues: list[QueueName], *, connection: Redis,
                 context: WorkerContext) -> None:
        super().__init__(queues, connection=connection, context=context)
        self.times: dict[str, list[Timed]] = defaultdict(list)
        self.db = context.store.db

    plain_rq = False  # RQ's own bookkeeping, without tickets.workerbeat's savings

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if self.plain_rq:
            SimpleWorker.heartbeat(self, timeout, pipeline)
        else:
            super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if self.plain_rq:
            SimpleWorker.set_state(self, state, pipeline)
        else:
            super().set_state(state, pipeline)

    def perform_job(self, job: RqJob, queue: Queue, execution: Execution) -> bool:
        wall, cpu = time.perf_counter(), time.thread_time()
        redis = RoundTrips.redis
        ok = super().perform_job(job, queue, execution)
        timed = Timed(time.perf_counter() - wall, time.thread_time() - cpu,
                      RoundTrips.redis - redis)
        self.times[self._kind(job)].append(timed)
        return ok

    def _kind(self, job: RqJob) -> str:
        name = job.func_name or ""
        if name == path_of(empty):
            return "empty"
        if name == SEND_NOTIFICATION:
            note = nt.get(self.db, int(job.args[0]))
            return f"notify {note.channel.value if note else '?'}"
        if name.startswith("delivery."):
            return "deliver webhook"
        return name.rsplit(".", 1)[-1]


def _env(root: Path, pg: Postgres, redis: RedisServer, r: Receivers) -> dict[str, str]:
    return {
        "HOTLINE_ENV": "production", "HOTLINE_DATA_DIR": str(root / "var"),
        "HOTLINE_DATABASE_URL": pg.url(), "HOTLINE_REDIS_URL": redis.url,
        "HOTLINE_PUBLIC_URL": "https://hotline.example.org", "HOTLINE_LOG_LEVEL": "WARNING",
        "HOTLINE_TWILIO_ACCOUNT_SID": CREDS.twilio_sid,
        "HOTLINE_TWILIO_AUTH_TOKEN": CREDS.twilio_token,
        "HOTLINE_TWILIO_API_URL": r.twilio.url, "HOTLINE_TWILIO_FROM": "+861065529601",
        "HOTLINE_WECHAT_TOKEN": CREDS.wechat_token, "HOTLINE_WECHAT_APP_ID": CREDS.wechat_app_id,
        "HOTLINE_WECHAT_APP_SECRET": CREDS.wechat_app_secret,
        "HOTLINE_WECHAT_AES_KEY": CREDS.wechat_aes_key, "HOTLINE_WECHAT_API_URL": r.wechat.url,
        "HOTLINE_WEB_SECRET": CREDS.web_secret,
        "HOTLINE_WEBHOOKS": json.dumps({"*": {"url": r.webhook.url,
                                              "secret": CREDS.webhook_secret}}),
        "HOTLINE_QUIET_HOURS": "", "HOTLINE_RATE_LIMITS": "false",
    }


@contextmanager
def production_shape(root: Path) -> Iterator[tuple[CliContext, Receivers]]:
    """PostgreSQL (fsync on), Redis (fsync always), the stand-ins; ``HOTLINE_*`` set for them,
    the schema migrated and the router's classifier trained (as bench/chaos does)."""
    with ExitStack() as stack:
        root.chmod(0o755)  # PostgreSQL runs as its own user
        pg = Postgres(root / "pg")
        pg.start()
        stack.callback(pg.stop)
        pg.fast_stop()
        pg._spawn()  # fsync on, as production runs it
        redis = RedisServer(root / "redis", persistent=True)
        redis.start()
        stack.callback(redis.stop)
        r = stack.enter_context(receivers(CREDS.webhook_secret, CREDS.wechat_app_id,
                                               CREDS.wechat_app_secret))
        saved = _hotline_environ(_env(root, pg, redis, r))
        stack.callback(_hotline_environ, saved)  # exactly as before: the run's keys removed
        classifier = root / "var" / "router" / "classifier.joblib"
        subprocess.run([sys.executable, "-m", "hotline", "router", "train", "--out",
                        str(classifier)], check=True)
        ctx = CliContext(settings_or_error())
        ctx.migrate()
        stack.callback(ctx.close)
        yield ctx, r


def _hotline_environ(values: dict[str, str]) -> dict[str, str]:
    """Replace every ``HOTLINE_*`` variable of this process by ``values``; the ones before."""
    before = {k: v for k, v in os.environ.items() if k.startswith("HOTLINE_")}
    for k in before:
        del os.environ[k]
    os.environ.update(values)
    return before


def submit(store: Store, start: int, count: int) -> None:
    """``count`` intakes, SMS, WeChat and API in turn (the WeChat followers wrote just now,
    so the gateway may answer them with a customer-service message)."""
    now = datetime.now(UTC)
    for i in range(start, start + count):
        text = f"{TEXTS[i % len(TEXTS)]}（{i}）"
        kind = i % 3
        if kind == 0:
            citizen, channel, ref = Citizen(phone=f"+86139{i:08d}"), Channel.sms, f"SMb{i:030d}"
        elif kind == 1:
            openid = f"oBench{i:010d}"
            state.merge(store.db, openid, {"last_in": now.isoformat()})
            citizen, channel, ref = Citizen(wechat_openid=openid), Channel.wechat, f"wx-{i}"
        else:
            citizen, channel, ref = Citizen(), Channel.api, f"bench-{i}"
        store.submit(Intake(channel=channel, channel_ref=ref, received_at=now, text=text,
                            citizen=citizen))


def relay_all(ctx: CliContext) -> None:
    while relay_once(ctx.store.db, ctx.redis, batch=500):
        pass


def enqueue_empty(redis: Redis, count: int, start: int) -> None:
    q = queue(QueueName.dispatch, redis)
    for n in range(start, start + count):
        q.enqueue_call(path_of(empty), args=(n,), job_id=f"bench-empty-{n}",
                       timeout=JOB_TIMEOUT)


@dataclass
class Burst:
    jobs: int
    wall: float
    cpu: float
    redis: int  # round trips of the whole burst (RQ's dequeuing included)
    times: dict[str, list[Timed]]

    def times_all(self) -> list[Timed]:
        return [t for times in self.times.values() for t in times]


def burst(ctx: CliContext, context: WorkerContext, name: QueueName, plain_rq: bool) -> Burst:
    """One worker runs ``name``'s queue empty."""
    worker = TimedWorker([name], connection=ctx.redis, context=context)
    worker.plain_rq = plain_rq
    # no command channel: ending its thread after a burst can wait a minute (redis-py)
    worker.subscribe = lambda: None  # type: ignore[method-assign]
    redis = RoundTrips.redis
    before, wall = os.times(), time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    wall, after = time.perf_counter() - wall, os.times()
    return Burst(sum(len(t) for t in worker.times.values()), wall,
                 after.user + after.system - before.user - before.system,
                 RoundTrips.redis - redis, dict(worker.times))


def one_repeat(ctx: CliContext, context: WorkerContext, start: int, count: int,
               plain_rq: bool) -> dict[str, dict[str, Any]]:
    """Every kind once: jobs, jobs/s (of its queue's burst, RQ's dequeuing included), the
    median and 90th percentile per job (wall and CPU, ms)."""
    found: dict[str, dict[str, Any]] = {}

    def note(b: Burst) -> None:
        for kind, times in b.times.items():
            walls = sorted(t.wall * 1000 for t in times)
            cpus = sorted(t.cpu * 1000 for t in times)
            share = len(times) / b.jobs  # a queue of two kinds: its burst split by job count
            outside = (b.redis - sum(t.redis for t in b.times_all())) / b.jobs
            found[kind] = {"jobs": len(times),
                           "redis_per_job": round(statistics.fmean(t.redis for t in times)
                                                  + outside, 1),
                           "jobs_per_s": round(len(times) / (b.wall * share), 1),
                           "p50_ms": round(statistics.median(walls), 2),
                           "p90_ms": round(percentile(walls, .9), 2),
                           "cpu_p50_ms": round(statistics.median(cpus), 2),
                           "mean_ms": round(statistics.fmean(walls), 2)}

    enqueue_empty(ctx.redis, count, start)
    note(burst(ctx, context, QueueName.dispatch, plain_rq))
    submit(ctx.store, start, count)
    relay_all(ctx)
    note(burst(ctx, context, QueueName.dispatch, plain_rq))
    relay_all(ctx)
    note(burst(ctx, context, QueueName.notify, plain_rq))
    relay_all(ctx)
    note(burst(ctx, context, QueueName.deliver, plain_rq))
    return found


def measure(intakes: int, repeats: int, profile: Path | None, plain_rq: bool = False
            ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp, \
            production_shape(Path(tmp)) as (ctx, r):
        context, _ = worker_context(ctx, [QueueName.dispatch, QueueName.notify,
                                          QueueName.deliver])
        RoundTrips.install()
        sampler = Sampler(0.005) if profile else None
        if sampler:
            sampler.start()
        runs = [one_repeat(ctx, context, n * intakes, intakes, plain_rq)
                for n in range(repeats)]
        if sampler:
            sampler.stop()
            assert profile is not None
            write(sampler, profile)
        sent = {"sms": len(r.twilio.messages()), "wechat": len(r.wechat.sent()),
                "webhook": len(r.webhook.received)}
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        rows = [run[kind] for run in runs if kind in run]
        if not rows:
            continue
        kinds[kind] = {key: statistics.median(row[key] for row in rows)
                       for key in ("jobs_per_s", "p50_ms", "p90_ms", "cpu_p50_ms", "mean_ms",
                                   "redis_per_job")}
        kinds[kind]["jobs"] = sum(row["jobs"] for row in rows)
    base = kinds.get("empty", {}).get("jobs_per_s")
    for value in kinds.values():
        value["ratio_to_empty"] = round(value["jobs_per_s"] / base, 3) if base else None
    return {"intakes_per_repeat": intakes, "repeats": repeats, "kinds": kinds,
            "runs": runs, "received_by_standins": sent}


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Worker throughput: the jobs an intake causes",
        "",
        f"Measured {r['measured_at']} on {r['cpus']} CPUs, {r['platform']}, Python "
        f"{r['python']} with `{r['command']}`; load average {r['load_average']} at start "
        "(a shared machine).",
        "",
        "One `ContextWorker` (the worker `hotline worker` runs, its context built by "
        "`hotline.worker.worker_context`), PostgreSQL with fsync on, Redis with its "
        "append-only file fsynced on every write, Twilio and WeChat clients pointed at local "
        "stand-ins, webhooks to a local receiver. Each repeat: "
        f"{r['intakes_per_repeat']} intakes (SMS, WeChat, API in turn; the chaos run's five "
        "texts, so most are merged into an earlier ticket), each queue run empty in burst "
        f"mode; median of {r['repeats']} repeats (tickets pile up from one repeat to the "
        "next). jobs/s counts RQ's dequeuing too; per job: inside `perform_job`.",
        "",
        "| job | jobs (all repeats) | jobs/s | vs empty job | p50 ms | p90 ms | CPU p50 ms "
        "| Redis round trips / job |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, v in r["kinds"].items():
        lines.append(f"| {kind} | {v['jobs']} | {v['jobs_per_s']:.1f} | {v['ratio_to_empty']} | "
                     f"{v['p50_ms']:.1f} | {v['p90_ms']:.1f} | {v['cpu_p50_ms']:.1f} | "
                     f"{v['redis_per_job']:.1f} |")
    s = r["received_by_standins"]
    lines += ["", f"Received by the stand-ins: {s['sms']} SMS, {s['wechat']} WeChat messages, "
              f"{s['webhook']} webhook deliveries.", ""]
    return "\n".join(lines) + str(r.get("notes", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--intakes", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plain-rq", action="store_true",
                        help="RQ's own heartbeats and state writes (before tickets.workerbeat)")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    result = measure(args.intakes, args.repeats, args.profile, args.plain_rq)
    result.update(measured_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  cpus=os.cpu_count(), platform=f"{platform.system()} {platform.machine()}",
                  python=platform.python_version(), load_average=load,
                  command="python -m bench.worker_throughput " + " ".join(argv or sys.argv[1:]))
    notes = args.out / "worker_throughput_notes.md"
    if notes.exists():
        result["notes"] = notes.read_text(encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "worker_throughput.json").write_text(json.dumps(result, indent=1) + "\n",
                                                     encoding="utf-8")
    (args.out / "worker_throughput.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
