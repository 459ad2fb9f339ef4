"""``hotline jobs failed|retry``: a job that failed every retry is listed with its error and
goes back on its queue when asked. Real RQ on a private Redis, a real failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.context import CliContext, settings_or_error
from hotline.worker import WorkerContext
from router.dispatch import dispatch
from tests.support.intakes import intake
from tests.support.services import RedisServer, free_port
from tests.support.settings_env import hotline_env
from tickets import deadletter, outbox
from tickets.jobs import Job, path_of
from tickets.model import Status
from tickets.queues import RETRY_INTERVALS, QueueName, queue
from tickets.relay import relay_once
from tickets.worker import ContextWorker

MISSING = "0123456789abcdef0123456789abcdef"  # a ticket id that does not exist


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        redis_server: RedisServer) -> Iterator[CliContext]:
    """The settings ``main`` reads too: data in tmp_path/var, the private Redis."""
    hotline_env(monkeypatch, tmp_path, env="development", redis_url=redis_server.url)
    context = CliContext(settings_or_error())
    context.migrate()
    yield context
    context.close()


def work(ctx: CliContext) -> None:
    """One burst of a real worker with the one worker context, as ``hotline worker`` runs."""
    context = WorkerContext(store=ctx.store, media_dir=ctx.settings.media_path)
    ContextWorker([QueueName.dispatch], connection=ctx.redis, context=context).work(burst=True)


def fail_for_good(ctx: CliContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dispatch job for a ticket that does not exist, through outbox → relay → RQ with the
    queue's retry policy (two retries, no wait between them) → every attempt fails."""
    monkeypatch.setitem(RETRY_INTERVALS, QueueName.dispatch, (0, 0))
    with ctx.store.db.write() as conn:
        outbox.write(conn, MISSING, [Job.of(dispatch, MISSING)], datetime.now(UTC))
    assert relay_once(ctx.store.db, ctx.redis) == 1
    work(ctx)


def test_a_job_that_failed_every_retry_is_listed_and_retried(
    ctx: CliContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_for_good(ctx, monkeypatch)
    [failed] = deadletter.failed(ctx.redis, [QueueName.dispatch])
    assert failed.path == path_of(dispatch) and failed.args == (MISSING,)
    assert failed.queue is QueueName.dispatch and failed.ended_at is not None
    assert MISSING in failed.error  # the last line of the traceback: the missing ticket
    job = queue(QueueName.dispatch, ctx.redis).fetch_job(failed.id)
    assert job is not None and job.retries_left == 0  # every retry was used

    assert main(["jobs", "failed"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 failed job(s)"
    assert out[0].startswith(f"{failed.id}  dispatch  ")
    assert f"router.dispatch.dispatch['{MISSING}']" in out[0]
    assert main(["jobs", "failed", "--queue", "media"]) == 0
    assert capsys.readouterr().out == "0 failed job(s)\n"

    assert main(["jobs", "retry", "--all"]) == 0
    assert capsys.readouterr().out == "requeued 1 job(s)\n"
    assert queue(QueueName.dispatch, ctx.redis).job_ids == [failed.id]  # back on its queue
    assert deadletter.failed(ctx.redis, [QueueName.dispatch]) == []
    assert main(["jobs", "failed"]) == 0
    assert capsys.readouterr().out == "0 failed job(s)\n"

    work(ctx)  # the cause is not fixed: it fails again and is listed again
    assert [j.id for j in deadletter.failed(ctx.redis, [QueueName.dispatch])] == [failed.id]


def test_retry_by_id_and_what_it_refuses(
    ctx: CliContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_for_good(ctx, monkeypatch)
    [failed] = deadletter.failed(ctx.redis, [QueueName.dispatch])

    assert main(["jobs", "retry"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hotline: name the job ids to retry (see: ")
    assert err.endswith("hotline jobs failed), or --all\n")
    assert main(["jobs", "retry", "no-such-job"]) == 1
    assert capsys.readouterr().out == "requeued 0 job(s)\n"
    assert main(["jobs", "failed", "--queue", "bogus"]) == 2
    assert "choose from: dispatch, transcribe, media" in capsys.readouterr().err

    assert main(["jobs", "retry", failed.id]) == 0
    assert capsys.readouterr().out == "requeued 1 job(s)\n"
    assert queue(QueueName.dispatch, ctx.redis).job_ids == [failed.id]


def test_a_retried_job_runs_once_its_cause_is_gone(
    ctx: CliContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dead letter of a real ticket (its job failed while the database was away, say):
    ``retry`` and the next worker pass register it."""
    ticket = ctx.store.submit(intake("j-1")).ticket
    failing = queue(QueueName.dispatch, ctx.redis).enqueue_call(
        "router.no_such_module.dispatch", args=(ticket.id,), retry=None)
    work(ctx)
    assert [j.id for j in deadletter.failed(ctx.redis, [QueueName.dispatch])] == [failing.id]
    # the cause goes away (here: the job now names the real function) and it is retried
    failing.func_name = path_of(dispatch)
    failing.save()
    assert main(["jobs", "retry", "--all"]) == 0
    capsys.readouterr()
    work(ctx)
    assert ctx.store.get(ticket.id).status is Status.registered
    assert deadletter.failed(ctx.redis, [QueueName.dispatch]) == []


def test_redis_away_is_one_line_naming_the_setting(
    ctx: CliContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    for line in (["jobs", "failed"], ["jobs", "retry", "--all"]):
        assert main(line) == 2
        err = capsys.readouterr().err
        assert err.startswith("hotline: Redis does not answer (") and err.count("\n") == 1
        assert "check HOTLINE_REDIS_URL" in err and "Traceback" not in err
