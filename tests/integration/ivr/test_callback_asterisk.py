"""The callback call (回访) end to end on the real Asterisk 22: the callback job asks Asterisk
over AMI (the real AmiDialer) to Originate a Local channel into ``callback-96010``; the
"resident" (``callback-resident-sim``, its script in a global variable) answers and
presses keys; the gateway's callback flow
(a real FastAGI server with the real prompts and espeak-ng) records the answers; the ticket
ends ``evaluated``. A busy resident is retried and recorded. The journey on PostgreSQL and
Redis: resolved → the callback job in the outbox → relay → RQ worker → call → evaluated."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis

from console.ami import AmiConfig
from hotline.callback_dialer import AmiDialer
from hotline.worker import WorkerContext
from ivr.agi.server import AgiServer
from ivr.callback import SCRIPT, CallbackConfig, CallbackFlow
from ivr.callback_history import callback_entries
from ivr.callback_job import CallbackPolicy, call_resident
from ivr.prompts import Prompts
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.conftest import make_store
from tests.support.asterisk import Asterisk
from tests.support.intakes import intake
from tests.support.services import (
    PostgresServer,
    RedisServer,
    free_port,
    require_root,
    wait_until,
)
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, HistoryKind, Satisfaction, Status, Ticket
from tickets.queues import QueueName
from tickets.relay import relay_once
from tickets.store import Store
from tickets.worker import ContextWorker

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]

LANDLINE = "+861065123456"  # dialled as 01065123456
# the resident presses 1 every two seconds: keys during the ticket number and the reply are
# not listened for; the first one heard answers "solved?", the next one "satisfied?"
PRESS_ONE = "^".join(["wait:2", "dtmf:1"] * 25)


@dataclass
class Rig:
    ast: Asterisk
    store: Store
    ctx: WorkerContext


class AgiThread:
    """The callback flow's FastAGI server on its own event loop in a thread."""

    def __init__(self, server: AgiServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> AgiThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(grace=5), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def running(tmp_path: Path, url: str) -> Iterator[Rig]:
    """Asterisk, the callback flow's FastAGI server and a worker context over ``url``."""
    require_root()
    shared = tmp_path / "shared"
    prompts = shared / "prompts"
    build_prompts(GENERATED)  # quick when `make prompts` already ran
    shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"))
    store = make_store(url)
    flow = CallbackFlow(CallbackConfig(prompts=Prompts(prompts),
                                       speech_dir=shared / "recordings" / "speech"), store)
    server = AgiServer({SCRIPT: flow}, port=free_port())
    try:
        with AgiThread(server):
            ast = Asterisk(tmp_path / "ast", agi_port=server.port, shared_dir=shared,
                           prompts_dir=prompts)
            ast.start()
            try:
                dialer = AmiDialer(AmiConfig("127.0.0.1", ast.ami_port, ast.ami_user,
                                             ast.ami_secret),
                                   "Local/{number}@callback-resident-sim", ring_seconds=20)
                ctx = WorkerContext(store=store, media_dir=tmp_path / "media", dialer=dialer,
                                    callback_policy=CallbackPolicy(attempts=3, interval=60))
                yield Rig(ast, store, ctx)
            finally:
                ast.stop()
    finally:
        store.db.dispose()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with running(tmp_path, f"sqlite:///{tmp_path / 'hotline.sqlite3'}") as made:
        yield made


def resolved(store: Store) -> Ticket:
    t = store.submit(intake("pbx/1765000000.1", channel=Channel.voice,
                            citizen=Citizen(phone=LANDLINE))).ticket
    for status, note in ((Status.registered, None), (Status.dispatched, None),
                         (Status.in_progress, None), (Status.resolved, "路灯已经修好了")):
        event = TicketEvent(actor="street:DS", status=status, note=note)
        t = store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    return t


def resident(rig: Rig, script: str) -> None:
    reply = rig.ast.ami({"Action": "Setvar", "Variable": "CALLBACKSIM_01065123456",
                         "Value": script})
    assert reply[0].get("Response") == "Success", reply


def test_the_resident_answers_by_keys_and_the_ticket_is_evaluated(rig: Rig) -> None:
    t = resolved(rig.store)
    resident(rig, PRESS_ONE)
    assert call_resident(rig.ctx, t.id, 1) == "answered"
    try:
        wait_until(lambda: rig.store.get(t.id).status is Status.evaluated, timeout=90)
    except TimeoutError:
        history = [(h.kind, h.note) for h in rig.store.get(t.id).history]
        pytest.fail(f"not evaluated: {history}\n{rig.ast.output_tail(80)}")
    after = rig.store.get(t.id)
    assert after.evaluation is not None
    assert (after.evaluation.solved, after.evaluation.satisfaction, after.evaluation.channel) \
        == (True, Satisfaction.satisfied, Channel.voice)
    kinds = [h.kind for h in after.history if h.kind is not None]
    assert kinds == [HistoryKind.callback, HistoryKind.asked, HistoryKind.answered,
                     HistoryKind.asked, HistoryKind.answered]
    [attempt] = callback_entries(after)
    assert attempt.note == "callback attempt 1 of 3: answered"
    # the unit's reply was spoken into the shared folder Asterisk played it from
    assert len(list((rig.ast.shared_dir / "recordings" / "speech").glob("*.wav"))) == 1


def test_a_busy_resident_is_tried_again(rig: Rig) -> None:
    t = resolved(rig.store)
    resident(rig, "busy")
    assert call_resident(rig.ctx, t.id, 1) == "busy: retry planned"
    [attempt] = callback_entries(rig.store.get(t.id))
    assert attempt.note is not None
    assert attempt.note.startswith("callback attempt 1 of 3: busy (reason 5); next attempt at")
    assert rig.store.get(t.id).status is Status.resolved


def test_the_journey_on_postgresql_and_redis(tmp_path: Path, postgres: PostgresServer,
                                             redis_server: RedisServer) -> None:
    """A landline caller's ticket resolved by the unit gets its callback job in the same
    transaction; the relay puts it on RQ; a worker serving the callback queue places the call;
    the resident's keys end the ticket evaluated."""
    redis = Redis.from_url(redis_server.url)
    with running(tmp_path, postgres.create_database()) as made:
        t = resolved(made.store)
        resident(made, PRESS_ONE)
        assert relay_once(made.store.db, redis) >= 1  # dispatch and callback jobs
        ContextWorker([QueueName.callback], connection=redis, context=made.ctx).work(burst=True)
        wait_until(lambda: made.store.get(t.id).status is Status.evaluated, timeout=90)
        after = made.store.get(t.id)
        assert after.evaluation is not None
        assert (after.evaluation.solved, after.evaluation.satisfaction) == (
            True, Satisfaction.satisfied)
        assert [h.note for h in callback_entries(after)] == ["callback attempt 1 of 3: answered"]
    redis.close()
