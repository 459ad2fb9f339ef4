"""The callback call flow (回访) against the fake Asterisk (real TCP, real SQLite store, the
reply spoken by a stand-in that writes a real WAV; espeak-ng itself: test_speak below)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ivr.agi.server import AgiServer
from ivr.callback import SCRIPT, CallbackConfig, CallbackFlow, speech_file, unit_reply
from ivr.prompts import Prompts
from ivr.wavinfo import wav_info
from tests.ivr.fake_asterisk import Caller, FakeAsterisk, write_tone
from tests.support.intakes import intake
from tickets.events import TicketEvent, apply_event
from tickets.model import (
    Channel,
    Citizen,
    Destination,
    HistoryKind,
    Loop,
    Routing,
    Satisfaction,
    Status,
    Ticket,
)
from tickets.store import Store

PHONE = "+861065123456"  # a landline: the callback is how this resident is asked
REPLY = "路灯已经修好了"


def move(store: Store, ticket: Ticket, *statuses: Status, note: str | None = None) -> Ticket:
    for status in statuses:
        event = TicketEvent(actor="street:DS", status=status, note=note)
        ticket = store.change(ticket.id, lambda t, s, a, e=event: apply_event(t, e, s, a))
    return ticket


def resolved(store: Store, note: str | None = REPLY) -> Ticket:
    t = store.submit(intake("call-1", channel=Channel.voice,
                            citizen=Citizen(phone=PHONE))).ticket
    t = store.change(t.id, lambda c, s, a: c.model_copy(update={
        "loop": Loop.small,
        "routing": Routing(destinations=[Destination(id="street:DS", status="delivered")])}))
    t = move(store, t, Status.registered, Status.dispatched, Status.in_progress)
    return move(store, t, Status.resolved, note=note)


def fake_speak(text: str, target: Path) -> None:
    """Stands in for espeak-ng in the flow tests: a real WAV whose length follows the text."""
    write_tone(target, 0.1 * len(text))


def config(tmp_path: Path) -> CallbackConfig:
    return CallbackConfig(prompts=Prompts(tmp_path / "prompts"), speech_dir=tmp_path / "speech",
                          speak=fake_speak, answer_wait_ms=3000)


def place_call(store: Store, cfg: CallbackConfig, caller: Caller, ticket_id: str) -> FakeAsterisk:
    async def scenario() -> FakeAsterisk:
        server = AgiServer({SCRIPT: CallbackFlow(cfg, store)}, port=0)
        await server.start()
        fake = FakeAsterisk(server.port, caller, prompts_root=cfg.prompts.root,
                            script=SCRIPT, unique_id="1765000000.7")
        fake.env["agi_arg_1"] = ticket_id
        try:
            await asyncio.wait_for(fake.call(), 30)
        finally:
            await server.close(grace=10)
        return fake

    return asyncio.run(scenario())


def intro(ticket: Ticket, cfg: CallbackConfig) -> list[str]:
    spoken = str(speech_file(cfg.speech_dir, ticket, REPLY).with_suffix(""))
    return ["callback/intro", *[f"digits/{d}" for d in ticket.number],
            "callback/reply_is", spoken]


def notes(ticket: Ticket, kind: HistoryKind) -> list[str]:
    return [h.note or "" for h in ticket.history if h.kind is kind]


def test_solved_and_satisfied_by_keys(sqlite_store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    t = resolved(sqlite_store)
    fake = place_call(sqlite_store, cfg, Caller(keys=[("data", "1"), ("data", "1")]), t.id)
    assert fake.commands[0] == "ANSWER"
    assert fake.played == [*intro(t, cfg), "callback/ask_solved", "callback/ask_satisfaction",
                           "callback/thanks"]
    assert fake.variables == {"CALLBACK_RESULT": "done"}
    assert fake.hung_up_by_gateway
    after = sqlite_store.get(t.id)
    assert after.status is Status.evaluated
    assert after.evaluation is not None
    assert (after.evaluation.solved, after.evaluation.satisfaction, after.evaluation.channel) \
        == (True, Satisfaction.satisfied, Channel.voice)
    # asked twice, answered twice, exactly as a text reply records it
    assert [h.event_id for h in after.history if h.kind is HistoryKind.asked] == \
        ["asked:solved:1", "asked:satisfaction:1"]
    assert [h.event_id for h in after.history if h.kind is HistoryKind.answered] == \
        ["callback:1765000000.7:solved", "callback:1765000000.7:satisfaction"]
    # the reply was spoken into the shared folder once
    [spoken] = cfg.speech_dir.iterdir()
    assert wav_info(spoken).duration == pytest.approx(0.1 * len(REPLY), abs=0.01)


@pytest.mark.parametrize(("key", "satisfaction"), [("2", Satisfaction.basically_satisfied),
                                                   ("3", Satisfaction.dissatisfied)])
def test_satisfaction_scale(sqlite_store: Store, tmp_path: Path, key: str,
                            satisfaction: Satisfaction) -> None:
    t = resolved(sqlite_store)
    place_call(sqlite_store, config(tmp_path), Caller(keys=[("data", "1"), ("data", key)]), t.id)
    after = sqlite_store.get(t.id)
    assert after.status is Status.evaluated
    assert after.evaluation is not None and after.evaluation.satisfaction is satisfaction


def test_not_solved_reopens_and_asks_nothing_more(sqlite_store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    t = resolved(sqlite_store)
    fake = place_call(sqlite_store, cfg, Caller(keys=[("data", "2")]), t.id)
    assert fake.played == [*intro(t, cfg), "callback/ask_solved", "callback/not_solved"]
    after = sqlite_store.get(t.id)
    assert (after.status, after.reopened) == (Status.in_progress, 1)
    assert after.evaluation is not None and after.evaluation.solved is False


def test_no_key_then_wrong_key_hangs_up_and_history_says_so(sqlite_store: Store,
                                                            tmp_path: Path) -> None:
    cfg = config(tmp_path)
    t = resolved(sqlite_store)
    fake = place_call(sqlite_store, cfg, Caller(keys=[("data", ""), ("data", "7")]), t.id)
    assert fake.played == [*intro(t, cfg), "callback/ask_solved", "no_input",
                           "callback/ask_solved", "callback/no_answer"]
    assert fake.variables == {"CALLBACK_RESULT": "no_answer"}
    after = sqlite_store.get(t.id)
    assert after.status is Status.resolved  # still waiting: nothing was answered
    assert notes(after, HistoryKind.callback) == [
        "callback call: no valid key to the solved question (asked twice); hung up"]


def test_wrong_key_once_then_right_key(sqlite_store: Store, tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    fake = place_call(sqlite_store, config(tmp_path),
                      Caller(keys=[("data", "5"), ("data", "1"), ("data", "3")]), t.id)
    assert fake.played[-5:] == ["callback/ask_solved", "invalid", "callback/ask_solved",
                                "callback/ask_satisfaction", "callback/thanks"]
    after = sqlite_store.get(t.id)
    assert after.status is Status.evaluated
    assert after.evaluation is not None
    assert after.evaluation.satisfaction is Satisfaction.dissatisfied


def test_satisfaction_unanswered_keeps_the_solved_answer(sqlite_store: Store,
                                                         tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    fake = place_call(sqlite_store, config(tmp_path),
                      Caller(keys=[("data", "1"), ("data", ""), ("data", "")]), t.id)
    assert fake.played[-3:] == ["no_input", "callback/ask_satisfaction", "callback/no_answer"]
    after = sqlite_store.get(t.id)
    assert after.status is Status.closed
    assert after.evaluation is not None and after.evaluation.solved is True
    assert notes(after, HistoryKind.callback) == [
        "callback call: no valid key to the satisfaction question (asked twice); hung up"]


def test_a_ticket_that_no_longer_waits_hears_one_sentence(sqlite_store: Store,
                                                          tmp_path: Path) -> None:
    cfg = config(tmp_path)
    t = resolved(sqlite_store)
    t = move(sqlite_store, t, Status.in_progress)  # the unit took it back meanwhile
    fake = place_call(sqlite_store, cfg, Caller(keys=[("data", "1")]), t.id)
    assert fake.played[-1] == "callback/nothing_to_ask"
    assert "callback/ask_solved" not in fake.played
    assert sqlite_store.get(t.id).status is Status.in_progress


def test_no_reply_text_skips_the_reply(sqlite_store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    t = resolved(sqlite_store, note=None)
    assert unit_reply(t) is None
    fake = place_call(sqlite_store, cfg, Caller(keys=[("data", "1"), ("data", "1")]), t.id)
    assert "callback/reply_is" not in fake.played
    assert not cfg.speech_dir.exists()


def test_unknown_ticket_hangs_up(sqlite_store: Store, tmp_path: Path) -> None:
    fake = place_call(sqlite_store, config(tmp_path), Caller(), "0" * 32)
    assert fake.commands == ["HANGUP"]


def test_hang_up_during_the_question_is_recorded(sqlite_store: Store, tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    place_call(sqlite_store, config(tmp_path), Caller(hang_up_at="callback/intro"), t.id)
    after = sqlite_store.get(t.id)
    assert after.status is Status.resolved
    assert notes(after, HistoryKind.callback) == [
        "the resident hung up during the callback call"]


def test_speak_makes_a_playable_file(tmp_path: Path) -> None:
    """The reply spoken by the real espeak-ng and sox, in the prompts' format."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.fail("espeak-ng and sox are required (make deps)")
    from ivr.prompts.build import speak

    target = tmp_path / "speech" / "r.wav"
    speak("-v 这不是选项。路灯已经修好了", target)
    info = wav_info(target)
    assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2)
    assert info.duration > 1.0 and info.rms > 300
    assert [p.name for p in target.parent.iterdir()] == ["r.wav"]
