"""``hotline unanswered list|close``: a resolved ticket whose resident did not answer within
HOTLINE_VERIFY_DAYS is listed and closed as unanswered (未回复); one still within the days is
refused with the date it waits until (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.context import CliContext, settings_or_error
from tests.support.intakes import intake
from tests.support.settings_env import hotline_env
from tickets.events import TicketEvent, apply_event
from tickets.model import Citizen, HistoryKind, Status, Ticket


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        database_url: str) -> Iterator[CliContext]:
    hotline_env(monkeypatch, tmp_path, database_url=database_url)
    context = CliContext(settings_or_error())
    context.migrate()
    yield context
    context.close()


def resolved(ctx: CliContext, ref: str, days_ago: float) -> Ticket:
    t = ctx.store.submit(intake(ref, citizen=Citizen(phone="+8613800138000"))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="已处理")
        t = ctx.store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))

    def backdate(c: Ticket, seq: int, at: datetime) -> Ticket:
        history = [h.model_copy(update={"at": h.at - timedelta(days=days_ago)})
                   for h in c.history]
        return c.model_copy(update={"history": history})

    return ctx.store.change(t.id, backdate)


def test_list_and_close(ctx: CliContext, capsys: pytest.CaptureFixture[str]) -> None:
    old = resolved(ctx, "u1", days_ago=4)
    fresh = resolved(ctx, "u2", days_ago=1)
    assert main(["unanswered", "list"]) == 0
    out = capsys.readouterr().out
    assert old.number in out and fresh.number not in out and "1 ticket waiting" in out
    assert main(["unanswered", "close", old.number, "--actor", "operator:li"]) == 0
    closed = ctx.store.get(old.id)
    assert closed.status is Status.closed
    assert closed.history[-1].kind is HistoryKind.closed_unanswered
    assert closed.history[-1].actor == "operator:li" and closed.history[-1].note == "未回复"
    assert main(["unanswered", "close", fresh.number, "--actor", "operator:li"]) != 0
    assert "waits for the resident's answer until" in capsys.readouterr().err
    assert ctx.store.get(fresh.id).status is Status.resolved
