"""The IVR's call events: the state (pure), publishing to a real Redis, a Redis that is down or
never answers (the call must not notice), and the flow publishing a call's lifecycle."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis

from ivr.agi.server import AgiServer
from ivr.events import (
    CHANNEL,
    INDEX,
    CallEvents,
    CallState,
    Step,
    message,
    new_call,
    redis_client,
    snapshot_key,
    takeover_key,
)
from ivr.flow import CallFlow
from tests.ivr.fake_asterisk import Caller, FakeAsterisk
from tests.ivr.test_flow import config
from tests.support.services import RedisServer, free_port
from tickets.store import Store
from transcription.live import topic_of

REF = "testpbx/1764161000.42"
T = TypeVar("T")


# -- the state (pure) ---------------------------------------------------------------------
def test_a_new_call_is_masked_and_keyed_by_its_topic() -> None:
    state = new_call(REF, "PJSIP/carrier-00000001", "+8613800138000", 1000.0)
    assert state.topic == topic_of(REF)
    assert state.caller == "+86138****8000"
    assert state.step is Step.greeting
    assert "phone" not in state.public()
    assert state.private()["phone"] == "+8613800138000"
    sent = json.loads(message(state))
    assert sent == {"type": "ivr", "call": state.public()}
    assert "13800138000" not in message(state)


def test_anonymous_caller_is_blank() -> None:
    assert new_call(REF, "x", None, 1.0).caller == ""


def test_state_round_trips_through_json() -> None:
    state = CallState(topic="t", ref=REF, channel="c", caller="+86138****8000",
                      started_at=5.5, step=Step.record, kind="complaint",
                      recording_since=7.0, ticket_id="ab" * 16, ticket_number="2511300001",
                      ended=None, phone="+8613800138000")
    assert CallState.from_json(json.loads(json.dumps(state.private()))) == state
    public = CallState.from_json(state.public())
    assert public.phone is None and public.kind == "complaint"


@pytest.mark.parametrize("bad", [None, [], "x", {"topic": "t"},
                                 {"topic": "t", "ref": "r", "channel": "c", "started_at": "x"},
                                 {"topic": "t", "ref": "r", "channel": "c", "started_at": 1,
                                  "step": "dancing"},
                                 {"topic": "t", "ref": "r", "channel": "c", "started_at": 1,
                                  "recording_since": []}])
def test_garbage_is_not_a_state(bad: Any) -> None:
    with pytest.raises(ValueError):
        CallState.from_json(bad)


# -- publishing to a real Redis -----------------------------------------------------------
def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def _collect(redis: Redis, count: int) -> list[dict[str, Any]]:
    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNEL)
    out: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    try:
        while len(out) < count and loop.time() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if msg is not None:
                out.append(json.loads(msg["data"]))
    finally:
        await pubsub.aclose()
    return out


def test_lifecycle_is_published_and_snapshotted(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], int, list[Any],
                                  bool, int]:
        reader = redis_client(redis_server.url)
        events = CallEvents(redis_client(redis_server.url))
        listening = asyncio.ensure_future(_collect(reader, 5))
        await asyncio.sleep(0.2)  # the subscription is in place (a lost message is healed)
        events.started(REF, "Local/96010@ivr-test-00000001;2", "+8613800138000")
        events.step(REF, Step.record, "complaint")
        events.recording(REF)
        events.operator(REF, "ab" * 16, "2511300001")
        key = snapshot_key(topic_of(REF))

        async def operator_step() -> bool:
            raw = await reader.get(key)
            return raw is not None and json.loads(raw)["step"] == "operator"

        await _wait(operator_step)
        snapshot = json.loads(await reader.get(snapshot_key(topic_of(REF))))
        ttl = await reader.ttl(snapshot_key(topic_of(REF)))
        indexed = await reader.zrange(INDEX, 0, -1)
        events.ended(REF, "done")
        seen = await listening
        gone = not await reader.exists(snapshot_key(topic_of(REF)))
        left = await reader.zcard(INDEX)
        await events.close()
        await reader.aclose()
        return seen, snapshot, ttl, indexed, gone, left

    seen, snapshot, ttl, indexed, gone, left = run(scenario())
    steps = [m["call"]["step"] for m in seen]
    assert steps == ["greeting", "record", "record", "operator", "ended"]
    assert all("phone" not in m["call"] for m in seen)
    assert seen[1]["call"]["kind"] == "complaint"
    assert seen[2]["call"]["recording_since"] is not None
    assert seen[-1]["call"]["ended"] == "operator"  # the dialplan queues it
    assert seen[-1]["call"]["ticket_number"] == "2511300001"
    assert snapshot["phone"] == "+8613800138000" and snapshot["step"] == "operator"
    assert 0 < ttl <= 4 * 3600
    assert indexed == [topic_of(REF).encode()]
    assert gone and left == 0


async def _wait(check: Callable[[], Awaitable[Any]], tries: int = 200) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met")


def test_taken_over_reads_the_console_mark(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[str | None, str | None]:
        events = CallEvents(redis_client(redis_server.url))
        before = await events.taken_over(REF)
        await events.redis.set(takeover_key(topic_of(REF)), "cd" * 16)  # type: ignore[union-attr]
        after = await events.taken_over(REF)
        await events.close()
        return before, after

    assert run(scenario()) == (None, "cd" * 16)


def test_changes_of_an_unknown_call_are_ignored(redis_server: RedisServer) -> None:
    async def scenario() -> int:
        events = CallEvents(redis_client(redis_server.url))
        events.step("other/1", Step.record)
        events.ended("other/1", "hangup")
        await events.close()
        return events._queue.qsize()

    assert run(scenario()) == 0


# -- Redis down or silent: the call never waits ------------------------------------------
@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers (a hung Redis)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.mark.parametrize("where", ["closed", "silent"])
def test_a_dead_redis_drops_events_and_never_blocks(where: str) -> None:
    async def scenario() -> tuple[int, str | None]:
        async with silent_server() as port:
            url = f"redis://127.0.0.1:{port if where == 'silent' else free_port()}/0"
            events = CallEvents(redis_client(url), pause=60)
            for n in range(50):  # emitting only queues: nothing here awaits Redis
                events.started(f"p/{n}", "c", "+8613800138000")
                events.step(f"p/{n}", Step.record, "help")
                events.ended(f"p/{n}", "hangup")
            marked = await events.taken_over("p/1")
            await _wait_for(lambda: events.dropped > 0)
            await events.close(seconds=5)
            return events.dropped, marked

    dropped, marked = run(scenario())
    assert dropped >= 149  # the first write failed; the rest were dropped during the pause
    assert marked is None


async def _wait_for(check: Callable[[], bool]) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met")


def test_a_full_backlog_drops_instead_of_growing() -> None:
    async def scenario() -> int:
        async with silent_server() as port:
            events = CallEvents(redis_client(f"redis://127.0.0.1:{port}/0"), backlog=3)
            for n in range(10):
                events.started(f"p/{n}", "c", None)
            dropped = events.dropped
            await events.close(seconds=0.1)
            return dropped

    assert run(scenario()) >= 6


# -- the flow publishes the call's lifecycle ---------------------------------------------
def test_flow_publishes_a_call_to_the_operator(redis_server: RedisServer,
                                               sqlite_store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)

    async def scenario() -> list[dict[str, Any]]:
        reader = redis_client(redis_server.url)
        listening = asyncio.ensure_future(_collect(reader, 4))
        await asyncio.sleep(0.2)
        events = CallEvents(redis_client(redis_server.url))
        server = AgiServer({"96010": CallFlow(cfg, sqlite_store, events=events)}, port=0)
        await server.start()
        fake = FakeAsterisk(server.port, Caller(keys=[("menu", "0")]),
                            prompts_root=cfg.prompts.root, pbx="testpbx")
        try:
            await asyncio.wait_for(fake.call(), 30)
        finally:
            await server.close(grace=10)
        seen = await listening
        await events.close()
        await reader.aclose()
        return seen

    seen = run(scenario())
    [draft] = sqlite_store.feed(0, 10)
    assert [m["call"]["step"] for m in seen] == ["greeting", "operator", "operator", "ended"]
    assert seen[0]["call"]["ref"] == "testpbx/1764161000.42"
    assert seen[0]["call"]["channel"] == "Local/96010@ivr-00000001;2"
    assert seen[2]["call"]["ticket_id"] == draft.id
    assert seen[3]["call"]["ended"] == "operator"
