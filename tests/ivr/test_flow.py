"""The 96010 call flow against the fake Asterisk (real TCP, real SQLite store, real files)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.agi.server import AgiServer
from ivr.flow import CallFlow, FlowConfig
from ivr.prompts import Prompts
from ivr.spool.format import NAME, scan
from ivr.spool.ingest import ingest_once
from ivr.wavinfo import wav_info
from tests.ivr.fake_asterisk import Caller, FakeAsterisk
from tests.support.intakes import intake
from tickets import media
from tickets.model import Channel, Kind, Status
from tickets.store import Store
from tickets.tables import outbox

# the caller's 3 s of "speech", kept with half a second of margin before and what there is
# (0.3 s) after: the quiet while the instructions played is cut
MESSAGE_SECONDS = 3.0 + 0.5 + 0.3


def config(tmp_path: Path) -> FlowConfig:
    return FlowConfig(prompts=Prompts(tmp_path / "prompts"), recordings_dir=tmp_path / "rec",
                      media_dir=tmp_path / "media")


def place_call(store: Store, cfg: FlowConfig, caller: Caller, *, flow: CallFlow | None = None,
               secret: str | None = None, **call_kw: str) -> FakeAsterisk:
    async def scenario() -> FakeAsterisk:
        server = AgiServer({"96010": flow or CallFlow(cfg, store)}, port=0, secret=secret)
        await server.start()
        fake = FakeAsterisk(server.port, caller, prompts_root=cfg.prompts.root, **call_kw)
        try:
            await asyncio.wait_for(fake.call(), 30)
        finally:
            await server.close(grace=10)
        return fake

    return asyncio.run(scenario())


def jobs(store: Store) -> list[tuple[str, str, list[object]]]:
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.queue, outbox.c.job, outbox.c.args)
                            .order_by(outbox.c.id)).all()
    return [(r.queue, r.job, r.args) for r in rows]


def audio_seconds(cfg: FlowConfig, url: str) -> float:
    stored = media.resolve(cfg.media_dir, url.rsplit("/", 1)[1])
    assert stored is not None
    return wav_info(stored).duration


AGI_SECRET = "b3c9e1f07a2d4c6e8f1a3b5d"


@pytest.mark.parametrize("script", ["96010", "96010?secret=", "96010?secret=wrong",
                                    f"96010?secret={AGI_SECRET}x", f"96010?Secret={AGI_SECRET}"])
def test_without_the_agi_secret_nothing_is_read_or_written(sqlite_store: Store, tmp_path: Path,
                                                           script: str) -> None:
    """Whoever reaches the AGI port could make voice tickets (whose caller id threads SMS) and
    hear any ticket's status; with HOTLINE_AGI_SECRET set, a request must carry it."""
    ticket = sqlite_store.submit(intake("sms-1", "路灯坏了")).ticket
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("greeting", "9")]),
                      secret=AGI_SECRET, script=script)
    assert fake.commands == []  # closed before a single command: no answer, no status read
    assert [t.id for t in sqlite_store.feed(0, 10)] == [ticket.id]


def test_with_the_agi_secret_the_call_goes_on(sqlite_store: Store, tmp_path: Path) -> None:
    place_call(sqlite_store, config(tmp_path), Caller(keys=[("greeting", "4")]),
               secret=AGI_SECRET, script=f"96010?secret={AGI_SECRET}")
    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.channel is Channel.voice


@pytest.mark.parametrize(
    ("digit", "kind"),
    [("1", Kind.consultation), ("2", Kind.help), ("3", Kind.complaint), ("4", Kind.report),
     ("5", Kind.suggestion)],
)
def test_menu_digit_makes_a_voice_ticket(sqlite_store: Store, tmp_path: Path, digit: str,
                                         kind: Kind) -> None:
    cfg = config(tmp_path)
    fake = place_call(sqlite_store, cfg, Caller(keys=[("greeting", digit)]))  # barge-in

    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.kind is kind
    assert ticket.channel is Channel.voice
    assert ticket.channel_ref == "1764161000.42"
    assert ticket.citizen.phone == "+8613800138000"
    [attachment] = ticket.attachments
    assert attachment.content_type == "audio/wav"
    assert audio_seconds(cfg, attachment.url) == pytest.approx(MESSAGE_SECONDS, abs=0.03)
    assert jobs(sqlite_store) == [
        ("dispatch", "router.dispatch.dispatch", [ticket.id]),
        ("transcribe", "transcription.jobs.transcribe_ticket", [ticket.id]),
    ]
    # greeting interrupted, no menu; Asterisk records from before the instructions and the
    # beep; RECORD FILE (into a scratch file) finds the end; the number is read back
    assert fake.played[:3] == ["greeting", "record_instructions", "beep"]
    assert fake.commands[0] == "ANSWER"
    [mixed] = fake.mixed
    assert mixed.parent == cfg.recordings_dir and mixed.name.startswith("1764161000.42-")
    assert fake.commands[2] == f'EXEC MixMonitor ",r({mixed})"'
    assert fake.commands[5].startswith(f'RECORD FILE "{mixed.with_suffix("")}.listen" wav')
    assert fake.commands[6] == 'EXEC StopMixMonitor ""'
    assert fake.played[3:] == ["ticket_number_is", *[f"digits/{d}" for d in ticket.number],
                               "repeat_hint", "thanks"]
    assert fake.variables == {"IVR_ACTION": "done"}
    assert fake.hung_up_by_gateway
    assert list(cfg.recordings_dir.iterdir()) == []  # stored: nothing left behind


def test_key_after_the_menu_prompt(sqlite_store: Store, tmp_path: Path) -> None:
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("wait", "3")]))
    assert fake.played[:2] == ["greeting", "menu"]
    assert sqlite_store.feed(0, 10)[0].kind is Kind.complaint


def test_wrong_keys_and_silence_repeat_twice_then_operator(sqlite_store: Store,
                                                           tmp_path: Path) -> None:
    caller = Caller(keys=[("menu", "7"), ("wait", ""), ("menu", "#")])
    fake = place_call(sqlite_store, config(tmp_path), caller)
    assert fake.played == ["greeting", "menu", "invalid", "menu", "no_input", "menu", "operator"]
    [draft] = sqlite_store.feed(0, 10)
    assert (draft.kind, draft.attachments, draft.channel_ref) == (Kind.unknown, [],
                                                                 "1764161000.42")
    assert fake.variables == {"TICKET_ID": draft.id, "TICKET_NUMBER": draft.number,
                              "IVR_ACTION": "operator"}
    assert not fake.hung_up_by_gateway  # the AGI just ends; the dialplan queues the call


def test_zero_goes_to_the_operator_with_a_draft(sqlite_store: Store, tmp_path: Path) -> None:
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("menu", "0")]))
    [draft] = sqlite_store.feed(0, 10)
    assert draft.status is Status.received and draft.kind is Kind.unknown
    assert fake.variables["TICKET_ID"] == draft.id
    assert fake.variables["IVR_ACTION"] == "operator"
    assert jobs(sqlite_store) == [("dispatch", "router.dispatch.dispatch", [draft.id])]


def test_star_repeats_the_ticket_number(sqlite_store: Store, tmp_path: Path) -> None:
    caller = Caller(keys=[("greeting", "1"), ("digits/0", "*"), ("repeat_hint", "*")])
    fake = place_call(sqlite_store, config(tmp_path), caller)
    number = sqlite_store.feed(0, 10)[0].number
    digits = [f"digits/{d}" for d in number]
    # the first reading is cut at the first 0 by '*'; then two full readings
    first = number.index("0") + 1
    assert fake.played[3:] == [
        "ticket_number_is", *digits[:first],
        "ticket_number_is", *digits, "repeat_hint",
        "ticket_number_is", *digits, "repeat_hint", "thanks",
    ]


@pytest.mark.parametrize("after", ["line", "close"])
def test_hang_up_while_recording_still_makes_the_ticket(sqlite_store: Store, tmp_path: Path,
                                                        after: str) -> None:
    caller = Caller(keys=[("greeting", "2")], record_seconds=2.0, record_end="hangup",
                    hangup_after_record=after)
    cfg = config(tmp_path)
    fake = place_call(sqlite_store, cfg, caller)
    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.kind is Kind.help and len(ticket.attachments) == 1
    assert audio_seconds(cfg, ticket.attachments[0].url) == pytest.approx(2.8, abs=0.03)
    assert fake.played == ["greeting", "record_instructions", "beep"]  # nothing after
    assert fake.variables == {}
    assert "StopMixMonitor" not in " ".join(fake.commands)  # Asterisk closed it at hang-up


def test_hang_up_during_the_greeting_is_a_normal_end(sqlite_store: Store,
                                                     tmp_path: Path) -> None:
    fake = place_call(sqlite_store, config(tmp_path), Caller(hang_up_at="greeting"))
    assert sqlite_store.feed(0, 10) == []
    assert len(fake.commands) == 2 and fake.commands[1].startswith("STREAM FILE")
    assert fake.played == ["greeting"]


def test_nothing_said_goes_to_the_operator(sqlite_store: Store, tmp_path: Path) -> None:
    caller = Caller(keys=[("greeting", "4")], record_seconds=0, record_end="timeout")
    fake = place_call(sqlite_store, config(tmp_path), caller)
    [draft] = sqlite_store.feed(0, 10)
    assert draft.kind is Kind.report and draft.attachments == []
    assert fake.variables["IVR_ACTION"] == "operator"
    assert "no_speech" in fake.played


@pytest.mark.parametrize(("caller_id", "pres", "phone"), [
    ("13800138000", "0", "+8613800138000"),
    ("+8613800138000", "0", "+8613800138000"),
    ("01065123456", "0", "+861065123456"),
    ("13800138000", "33", None),  # presentation restricted: withheld
    ("", "0", None),
    ("unknown", "0", None),
    ("123", "0", None),
])
def test_caller_number(sqlite_store: Store, tmp_path: Path, caller_id: str, pres: str,
                       phone: str | None) -> None:
    place_call(sqlite_store, config(tmp_path), Caller(keys=[("menu", "0")]),
               caller_id=caller_id, calling_pres=pres)
    assert sqlite_store.feed(0, 10)[0].citizen.phone == phone


def _existing_ticket(store: Store) -> str:
    return store.submit(intake("w1", "路灯坏了", channel=Channel.web)).ticket.number


def test_status_by_ticket_number(sqlite_store: Store, tmp_path: Path) -> None:
    number = _existing_ticket(sqlite_store)
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("menu", "9"),
                                                                    ("data", number)]))
    assert fake.played[-4:] == ["ask_ticket_number", "status_is", "status/received", "thanks"]
    assert len(sqlite_store.feed(0, 10)) == 1  # a status call makes no ticket


def test_status_of_a_merged_ticket_tells_the_survivors(sqlite_store: Store,
                                                     tmp_path: Path) -> None:
    from tickets.events import TicketEvent, apply_event
    from tickets.model import Ticket

    number = _existing_ticket(sqlite_store)
    kept = sqlite_store.submit(intake("w2", "同一个路灯", channel=Channel.web)).ticket
    event = TicketEvent(actor="test", status=Status.merged, merged_into=kept.id)

    def merge(t: Ticket, seq: int, at: datetime) -> Ticket | None:
        return apply_event(t, event, seq, at)

    sqlite_store.change(number, merge)
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("menu", "9"),
                                                                    ("data", number)]))
    assert fake.played[-5:] == ["status_is", "status/merged", "merged_status_is",
                                "status/received", "thanks"]


def test_status_unknown_number_and_bad_input(sqlite_store: Store, tmp_path: Path) -> None:
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[
        ("menu", "9"), ("data", "123"), ("data", "9999999999")]))
    assert fake.played[-5:] == ["ask_ticket_number", "invalid", "ask_ticket_number",
                                "ticket_not_found", "thanks"]


def test_status_of_an_eleven_digit_number(sqlite_store: Store, tmp_path: Path) -> None:
    """A day past 9,999 tickets has 11-digit numbers; the status menu takes them."""
    from sqlalchemy import update

    from tickets.tables import counters

    day = sqlite_store.submit(intake("w0", channel=Channel.web)).ticket.number[:6]
    with sqlite_store.db.write() as conn:
        conn.execute(update(counters).where(counters.c.name == f"number:{day}")
                     .values(value=12344))
    number = sqlite_store.submit(intake("w1", channel=Channel.web)).ticket.number
    assert number == f"{day}12345"
    fake = place_call(sqlite_store, config(tmp_path), Caller(keys=[("menu", "9"),
                                                                    ("data", number)]))
    assert fake.played[-3:] == ["status_is", "status/received", "thanks"]


def test_same_call_twice_is_one_ticket(sqlite_store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    place_call(sqlite_store, cfg, Caller(keys=[("greeting", "1")]))
    place_call(sqlite_store, cfg, Caller(keys=[("greeting", "1")]))
    assert len(sqlite_store.feed(0, 10)) == 1


def test_unknown_script_says_sorry_and_hangs_up(sqlite_store: Store, tmp_path: Path) -> None:
    from functools import partial

    from ivr.flow import unavailable

    cfg = config(tmp_path)

    async def scenario() -> FakeAsterisk:
        server = AgiServer({"96010": CallFlow(cfg, sqlite_store)}, port=0,
                           unknown=partial(unavailable, cfg.prompts))
        await server.start()
        fake = FakeAsterisk(server.port, Caller(), script="12345",
                            prompts_root=cfg.prompts.root)
        try:
            await asyncio.wait_for(fake.call(), 30)
        finally:
            await server.close(grace=10)
        return fake

    fake = asyncio.run(scenario())
    assert fake.played == ["unavailable"]
    assert fake.hung_up_by_gateway
    assert sqlite_store.feed(0, 10) == []


def test_store_down_still_reaches_the_operator(tmp_path: Path) -> None:
    from tickets.db import Database

    broken = Store(Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))  # no tables
    cfg = config(tmp_path)
    try:
        fake = place_call(broken, cfg, Caller(keys=[("greeting", "3")]))
    finally:
        broken.db.dispose()
    # no spool configured either: the message stays in the recordings folder for the sweep,
    # and the caller is told it is kept
    assert fake.played[-1] == "fallback-thanks"
    assert fake.variables == {"IVR_ACTION": "done"}
    [mixed] = fake.mixed
    assert mixed.is_file() and mixed.with_suffix(".json").is_file()


def test_voice_ticket_on_sqlite_and_postgresql(store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    place_call(store, cfg, Caller(keys=[("greeting", "2")], record_end="hangup"),
               unique_id="pg-1")
    fake = place_call(store, cfg, Caller(keys=[("menu", "0")]), unique_id="pg-2")
    voice = store.find_by_ref("voice", "pg-1")
    draft = store.find_by_ref("voice", "pg-2")
    assert voice is not None and voice.kind is Kind.help and len(voice.attachments) == 1
    assert draft is not None and fake.variables["TICKET_ID"] == draft.id
    assert [t.channel_ref for t in store.feed(0, 10)] == ["pg-1", "pg-2"]


def test_the_asterisk_system_qualifies_the_call(sqlite_store: Store, tmp_path: Path) -> None:
    """Two Asterisk servers can hand out the same unique id: the dialplan passes its PBX id."""
    cfg = config(tmp_path)
    place_call(sqlite_store, cfg, Caller(keys=[("greeting", "1")]), pbx="a1b2c3")
    place_call(sqlite_store, cfg, Caller(keys=[("greeting", "1")]), pbx="d4e5f6")
    assert sorted(t.channel_ref for t in sqlite_store.feed(0, 10)) == [
        "a1b2c3/1764161000.42", "d4e5f6/1764161000.42"]


def test_store_down_spools_the_recording_for_the_ingester(sqlite_store: Store,
                                                          tmp_path: Path) -> None:
    from dataclasses import replace

    from tickets.db import Database

    broken = Store(Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))  # no tables
    spool_dir = tmp_path / "spool"
    cfg = replace(config(tmp_path), spool_dir=spool_dir)
    try:
        fake = place_call(broken, cfg, Caller(keys=[("greeting", "3")]))
    finally:
        broken.db.dispose()
    assert fake.played[-1] == "fallback-thanks"  # no number to read back, nothing lost
    assert fake.variables == {"IVR_ACTION": "done"} and fake.hung_up_by_gateway
    [entry] = scan(spool_dir)
    assert entry.audio is not None and entry.sidecar is not None
    assert NAME.match(entry.stem) and "1764161000.42" in entry.stem
    assert entry.fields["reason"] == "store-failed" and entry.fields["kind"] == "complaint"
    assert list(cfg.recordings_dir.iterdir()) == []  # spooled: nothing left behind

    # the database is back: the ingester makes the ticket, once
    assert ingest_once(sqlite_store, spool_dir, cfg.media_dir) == 1
    assert ingest_once(sqlite_store, spool_dir, cfg.media_dir) == 0
    [ticket] = sqlite_store.feed(0, 10)
    assert (ticket.channel, ticket.channel_ref, ticket.kind) == (Channel.voice, "1764161000.42",
                                                                 Kind.complaint)
    assert ticket.citizen.phone == "+8613800138000"
    [attachment] = ticket.attachments
    assert audio_seconds(cfg, attachment.url) == pytest.approx(MESSAGE_SECONDS, abs=0.03)
    assert ("transcribe", "transcription.jobs.transcribe_ticket", [ticket.id]) in jobs(
        sqlite_store)


@pytest.mark.parametrize("after", ["line", "close"])
def test_hang_up_while_the_store_is_down_spools_the_message(
        database_url: str, tmp_path: Path, after: str) -> None:
    """The defect of issue 8: a hang-up during the recording while the database is down left
    the message neither stored nor spooled. Persist-or-spool now runs either way."""
    from dataclasses import replace

    from tickets.db import Database
    from tickets.migrate import upgrade

    db = Database(database_url)
    store = Store(db)  # not migrated yet: every write fails, like a database that is down
    spool_dir = tmp_path / "spool"
    cfg = replace(config(tmp_path), spool_dir=spool_dir)
    caller = Caller(keys=[("greeting", "2")], record_seconds=2.0, record_end="hangup",
                    hangup_after_record=after)
    try:
        fake = place_call(store, cfg, caller)
        assert fake.variables == {}  # the caller is gone: nothing more is said
        [entry] = scan(spool_dir)
        assert entry.fields["kind"] == "help" and entry.audio is not None
        upgrade(db)  # the database is back
        assert ingest_once(store, spool_dir, cfg.media_dir) == 1
        [ticket] = store.feed(0, 10)
        assert ticket.kind is Kind.help and ticket.channel_ref == "1764161000.42"
        assert audio_seconds(cfg, ticket.attachments[0].url) == pytest.approx(2.8, abs=0.03)
    finally:
        db.dispose()


def test_without_mixmonitor_record_file_records_the_message(sqlite_store: Store,
                                                             tmp_path: Path) -> None:
    cfg = config(tmp_path)

    async def scenario() -> FakeAsterisk:
        server = AgiServer({"96010": CallFlow(cfg, sqlite_store)}, port=0)
        await server.start()
        fake = FakeAsterisk(server.port, Caller(keys=[("greeting", "1")]),
                            prompts_root=cfg.prompts.root, mixmonitor=False)
        try:
            await asyncio.wait_for(fake.call(), 30)
        finally:
            await server.close(grace=10)
        return fake

    fake = asyncio.run(scenario())
    assert fake.mixed == [] and len(fake.recordings) == 1
    [ticket] = sqlite_store.feed(0, 10)
    assert audio_seconds(cfg, ticket.attachments[0].url) == pytest.approx(3.0, abs=0.03)
