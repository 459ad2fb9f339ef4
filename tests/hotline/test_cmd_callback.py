"""``hotline callback NUMBER``: refuses what cannot be called, places one attempt through the
AMI dialer (here an AMI port nothing listens on: recorded and retried), or queues it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.cli import main
from hotline.context import CliContext, settings_or_error
from ivr.callback_history import callback_entries
from tests.support.intakes import intake
from tests.support.services import free_port
from tests.support.settings_env import hotline_env
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, Status, Ticket
from tickets.tables import outbox

AMI_PORT = free_port()  # nothing listens there


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliContext]:
    # no quiet hours: the test may run at any time of day
    hotline_env(monkeypatch, tmp_path, env="development", ami_port=str(AMI_PORT), quiet_hours="")
    context = CliContext(settings_or_error())
    context.migrate()
    yield context
    context.close()


def ticket(ctx: CliContext, *statuses: Status) -> Ticket:
    t = ctx.store.submit(intake("pbx/1.1", channel=Channel.voice,
                                citizen=Citizen(phone="+861065123456"))).ticket
    for status in statuses:
        event = TicketEvent(actor="street:DS", status=status, note="已修好")
        t = ctx.store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    return t


RESOLVED = (Status.registered, Status.dispatched, Status.in_progress, Status.resolved)


def test_refusals(ctx: CliContext, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = ticket(ctx, Status.registered)
    assert main(["callback", "12345"]) == 2
    assert "is not a ticket number" in capsys.readouterr().err
    assert main(["callback", "2612070999"]) == 2
    assert "no ticket 2612070999" in capsys.readouterr().err
    assert main(["callback", waiting.number]) == 2
    assert "is 'registered' and waits for no answer" in capsys.readouterr().err


def test_without_ami_settings(ctx: CliContext, capsys: pytest.CaptureFixture[str]) -> None:
    t = ticket(ctx, *RESOLVED)
    assert main(["callback", t.number]) == 2
    assert "set HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET" in capsys.readouterr().err


def test_ami_down_is_recorded_and_retried(ctx: CliContext, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_AMI_USERNAME", "hotline")
    monkeypatch.setenv("HOTLINE_AMI_SECRET", "a-long-development-secret")
    t = ticket(ctx, *RESOLVED)
    assert main(["callback", t.number]) == 1
    out = capsys.readouterr().out
    assert f"ticket {t.number}: ami_down: retry planned" in out
    assert f"cannot connect to 127.0.0.1:{AMI_PORT}" in out
    [entry] = callback_entries(ctx.store.get(t.id))
    assert (entry.note or "").startswith("callback attempt 1 of 3: Asterisk (AMI) unreachable")
    with ctx.store.db.read() as conn:
        args = conn.execute(select(outbox.c.args).where(outbox.c.queue == "callback")).scalars()
        assert list(args) == [[t.id, 1], [t.id, 2]]  # the first came with the resolution


def test_queue(ctx: CliContext, capsys: pytest.CaptureFixture[str]) -> None:
    # a web resident's ticket (no callback of its own): queued by hand
    t = ctx.store.submit(intake("w1", channel=Channel.web,
                                citizen=Citizen(phone="+861065123456"))).ticket
    for status in RESOLVED:
        event = TicketEvent(actor="street:DS", status=status, note="已修好")
        t = ctx.store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    assert main(["callback", t.number, "--queue"]) == 0
    assert f"ticket {t.number}: callback attempt 1 queued" in capsys.readouterr().out
    with ctx.store.db.read() as conn:
        args = conn.execute(select(outbox.c.args).where(outbox.c.queue == "callback")).scalars()
        assert list(args) == [[t.id, 1]]
    [entry] = callback_entries(ctx.store.get(t.id))
    assert entry.note == "callback attempt 1 queued by hand"
    assert main(["callback", t.number, "--queue"]) == 2
    assert "callback attempt 1 is already queued" in capsys.readouterr().err
