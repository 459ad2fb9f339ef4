"""``hotline deliveries list|retry``: a delivery whose destination never answered is listed as
dead with its error and sent again when asked — settings from the environment as in
production, on SQLite and PostgreSQL, a real Redis, a real (refused) webhook address."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from delivery import plan, retry
from delivery.drain import drain
from hotline import invocation
from hotline.cli import main
from hotline.context import CliContext, settings_or_error
from hotline.worker import WorkerContext, destinations_config
from tests.support.intakes import intake
from tests.support.services import RedisServer, free_port
from tests.support.settings_env import hotline_env
from tickets.jobs import path_of
from tickets.model import HistoryEntry, Routing, Status, Ticket
from tickets.tables import outbox

DS = "street:DS"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer,
        database_url: str) -> Iterator[CliContext]:
    """The settings ``main`` reads too: the database under test, the private Redis, a webhook
    for every street at an address nobody listens on, one attempt before a delivery is dead."""
    webhooks = ('{"street:*": {"url": "http://127.0.0.1:'
                f'{free_port()}/in", "secret": "k8Jq2vN5xR7tW1zA4cE6m9Pd3sL0fH5b"}}}}')
    hotline_env(monkeypatch, tmp_path, database_url=database_url, redis_url=redis_server.url,
                webhooks=webhooks, delivery_max_attempts="1")
    context = CliContext(settings_or_error())
    context.migrate()
    yield context
    context.close()


def routed(ctx: CliContext, ref: str, destinations: Sequence[str]) -> Ticket:
    ticket = ctx.store.submit(intake(ref)).ticket

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket:
        routing = Routing.model_validate(
            {"destinations": [{"id": d, "status": "pending"} for d in destinations]})
        entry = HistoryEntry(seq=seq, at=at, actor="router", status=Status.registered,
                             from_status=current.status)
        return current.model_copy(update={"status": Status.registered, "routing": routing,
                                          "history": [*current.history, entry]})

    return ctx.store.change(ticket.id, mutate,
                            also=lambda conn, t, at: plan.plan(conn, t, destinations, at))


def run_drain(ctx: CliContext, destination: str) -> str:
    """The drain job with the worker context ``hotline worker`` builds from these settings."""
    worker = WorkerContext(store=ctx.store, media_dir=ctx.settings.media_path, redis=ctx.redis,
                           destinations=destinations_config(ctx.settings))
    return drain(worker, destination)


def drain_rows(ctx: CliContext) -> list[list[object]]:
    with ctx.store.db.read() as conn:
        return [list(r.args) for r in conn.execute(
            select(outbox.c.args).where(outbox.c.job == path_of(drain)).order_by(outbox.c.id))]


def test_a_dead_delivery_is_listed_and_sent_again(
    ctx: CliContext, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = routed(ctx, "cli-1", [DS, "district"])
    assert run_drain(ctx, DS).startswith(f"{DS}: 0 delivered, 1 dead")
    assert run_drain(ctx, "district").startswith("district: 1 delivered")  # feed-only

    assert main(["deliveries", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 delivery"
    [line] = out[:-1]
    assert "dead" in line and DS in line and f"ticket {ticket.number}" in line
    assert "webhook: ConnectError" in line and "attempts 1" in line
    assert main(["deliveries", "list", "--status", "delivered"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 delivery" and "district" in out[0] and "feed" in out[0]
    assert main(["deliveries", "list", "--status", "all", "--destination", "district"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 delivery"
    assert main(["deliveries", "list", "--status", "pending"]) == 0
    assert capsys.readouterr().out == "0 deliveries\n"

    before = len(drain_rows(ctx))
    assert main(["deliveries", "retry", "--dead", "--destination", DS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("1 delivery sent again")
    assert drain_rows(ctx)[before:] == [[DS]]  # the relay puts the drain on RQ
    [row] = retry.listing(ctx.store)
    assert (row.status, row.attempts) == ("pending", 0)
    after = ctx.store.get(ticket.id)
    assert after.history[-1].note == f"delivery to {DS} sent again (hotline deliveries retry)"

    assert run_drain(ctx, DS).startswith(f"{DS}: 0 delivered, 1 dead")  # still no answer
    assert main(["deliveries", "retry", str(row.id)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 delivery sent again")
    assert main(["deliveries", "retry", "--dead"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 deliveries sent again")


@pytest.mark.parametrize(("argv", "message"), [
    (["deliveries", "retry"], "name the delivery ids to retry (see: hotline deliveries list), "
                              "or --dead"),
    (["deliveries", "retry", "7", "--dead"], "name delivery ids or --dead, not both"),
    (["deliveries", "retry", "7", "--destination", DS], "--destination goes with --dead"),
    (["deliveries", "retry", "999"], "no delivery 999"),
    (["deliveries", "retry", "abc"], "'abc' is not a delivery id"),
    (["deliveries", "list", "--destination", "street:ds"], "'street:ds' is not a destination"),
    (["deliveries", "retry", "--dead", "--destination", "DS"], "'DS' is not a destination"),
])
def test_what_it_refuses_is_one_line(
    ctx: CliContext, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    # hints name the command as it can be run here (.venv/bin/hotline off the PATH)
    assert err.startswith(f"hotline: {invocation.runnable(message)}") and err.count("\n") == 1


def test_a_delivered_delivery_is_not_sent_again(
    ctx: CliContext, capsys: pytest.CaptureFixture[str]
) -> None:
    routed(ctx, "cli-2", ["district"])
    run_drain(ctx, "district")
    [row] = retry.listing(ctx.store, statuses=["delivered"])
    assert main(["deliveries", "retry", row.key]) == 2
    assert capsys.readouterr().err == f"hotline: delivery {row.key} was delivered already\n"
