"""The SSE hub: frames, catch-up after a reconnection, per-person events, a slow page dropped
(never the others), and the fan-out of real Redis messages (the IVR's publisher and the
transcriber's) to several pages, across a Redis restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from console.board import Board
from console.live import HEARTBEAT_FRAME, Hub, Page, encode, load_calls
from ivr.events import INDEX, CallEvents, Step, new_call, redis_client
from tests.support.services import RedisServer
from transcription.publish import RedisPublisher, channel

T = TypeVar("T")
REF = "testpbx/1764161000.42"


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def parse(frame: bytes) -> tuple[str | None, str, dict[str, Any]]:
    fields: dict[str, str] = {}
    for line in frame.decode().strip().split("\n"):
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields.get("id"), fields["event"], json.loads(fields["data"])


def test_a_frame_is_one_sse_event() -> None:
    frame = encode("ab-3", "call", {"type": "call", "text": "第一行\n第二行"})
    assert frame == ('id: ab-3\nevent: call\ndata: {"type":"call","text":"第一行\\n第二行"}'
                     "\n\n").encode()


def drain(page: Page) -> list[tuple[str | None, str, dict[str, Any]]]:
    out = []
    while not page.queue.empty():
        frame = page.queue.get_nowait()
        assert frame is not None
        out.append(parse(frame))
    return out


def test_pages_start_with_a_snapshot_and_catch_up_after_a_reconnection() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None)
        page, first = hub.attach(1, None)
        [(snap_id, name, data)] = [parse(f) for f in first]
        assert name == "snapshot" and data["calls"] == []
        state = new_call(REF, "c", "+8613800138000", 100.0)
        hub.publish(hub.board.on_ivr(state, 100.0))
        hub.publish(hub.board.on_transcript(state.topic, {"type": "segment", "text": "路灯"}))
        got = drain(page)
        assert [n for _, n, _ in got] == ["call", "transcript"]
        # the browser reconnects with the id of the first event it saw: it gets the second
        hub.detach(page)
        _, missed = hub.attach(1, got[0][0])
        assert [parse(f)[1] for f in missed] == ["transcript"]
        # an id of another hub (the gateway restarted) or garbage: a snapshot
        for bad in ("ffffffff-2", "garbage", f"{hub.epoch}-999"):
            [(_, name, data)] = [parse(f) for f in hub.catch_up(1, bad)]
            assert name == "snapshot" and data["calls"][0]["text"] == "路灯"
        # up to date: nothing
        assert hub.catch_up(1, got[1][0]) == []
        assert snap_id == f"{hub.epoch}-0"

    run(scenario())


def test_an_id_that_fell_out_of_the_history_gets_a_snapshot() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None, history=3)
        for n in range(10):
            hub.publish([{"type": "link", "ami": n % 2 == 0, "live": False}])
        [(_, name, _)] = [parse(f) for f in hub.catch_up(1, f"{hub.epoch}-2")]
        assert name == "snapshot"
        assert len(hub.catch_up(1, f"{hub.epoch}-7")) == 3

    run(scenario())


def test_a_screenpop_reaches_only_its_person_also_on_replay() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None)
        alice, _ = hub.attach(1, None)
        alice2, _ = hub.attach(1, None)  # a second tab
        bob, _ = hub.attach(2, None)
        hub.send_to(1, {"type": "screenpop", "ticket": {"number": "2512010001"}})
        assert [n for _, n, _ in drain(alice)] == ["screenpop"]
        assert [n for _, n, _ in drain(alice2)] == ["screenpop"]
        assert drain(bob) == []
        assert hub.catch_up(2, f"{hub.epoch}-0") == []
        assert len(hub.catch_up(1, f"{hub.epoch}-0")) == 1

    run(scenario())


def test_a_slow_page_is_dropped_and_the_others_go_on() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None, page_queue=4)
        slow, _ = hub.attach(1, None)
        fast, _ = hub.attach(2, None)
        reader = hub.stream(fast, [])
        assert await reader.__anext__() == b"retry: 2000\n\n"
        received = 0
        for n in range(20):
            hub.publish([{"type": "link", "ami": n % 2 == 0, "live": True}])
            await reader.__anext__()  # the fast page keeps up
            received += 1
        assert received == 20
        assert slow.dropped and slow not in hub.pages and fast in hub.pages
        assert hub.dropped_pages == 1
        assert slow.queue.get_nowait() is None  # its stream ends; the browser reconnects
        await reader.aclose()
        assert fast not in hub.pages

    run(scenario())


def test_an_idle_stream_gets_heartbeats() -> None:
    async def scenario() -> bytes:
        hub = Hub(Board(), None, heartbeat=0.05)
        page, first = hub.attach(1, None)
        reader = hub.stream(page, first)
        await reader.__anext__()  # retry
        await reader.__anext__()  # snapshot
        beat = await reader.__anext__()
        await reader.aclose()
        return beat

    assert run(scenario()) == HEARTBEAT_FRAME


async def _frames(page: Page, count: int, seconds: float = 30) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(out) < count and loop.time() < deadline:
        try:
            frame = await asyncio.wait_for(page.queue.get(), max(0.01, deadline - loop.time()))
        except TimeoutError:
            break
        if frame is not None:
            _, name, data = parse(frame)
            out.append((name, data))
    return out


async def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met")
        await asyncio.sleep(0.02)


def test_redis_messages_fan_out_to_every_page(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        hub = Hub(Board(), redis_server.url)
        pages = [hub.attach(n, None)[0] for n in (1, 2, 3)]
        await hub.start()
        await _until(lambda: hub.board.live_up)
        events = CallEvents(redis_client(redis_server.url))
        publisher = RedisPublisher(redis_server.url)
        events.started(REF, "Local/96010@ivr-test-00000000;2", "+8613800138000")
        state = new_call(REF, "x", None, 0.0)
        await _until(lambda: state.topic in hub.board.calls.live)
        await publisher.publish(channel(state.topic), {"type": "partial", "uuid": state.topic,
                                                       "call": REF, "text": "东四"})
        await publisher.publish(channel(state.topic), {"type": "segment", "uuid": state.topic,
                                                       "call": REF, "text": "东四十条"})
        events.ended(REF, "hangup")
        for page in pages:
            got = await _frames(page, 5)
            assert [n for n, _ in got] == ["link", "call", "transcript", "transcript",
                                           "call_gone"]
            assert got[1][1]["call"]["caller"] == "+86138****8000"
            assert got[3][1]["text"] == "东四十条"
            assert "13800138000" not in json.dumps(got)
        await events.close()
        await publisher.close()
        await hub.close()

    run(scenario())


def test_a_console_started_mid_call_sees_it_and_survives_a_redis_restart(
        redis_server: RedisServer) -> None:
    async def scenario() -> None:
        events = CallEvents(redis_client(redis_server.url), pause=0.05)
        events.started(REF, "Local/96010@ivr-test-00000000;2", "+8613800138000")
        events.started("testpbx/2.2", "Local/96010@ivr-test-00000001;2", None)
        reader = redis_client(redis_server.url)
        await _until_async(lambda: reader.zcard(INDEX), 2)
        await reader.aclose()
        hub = Hub(Board(), redis_server.url, backoff=0.05, backoff_max=0.2)
        await hub.start()
        await _until(lambda: len(hub.board.calls.live) == 2)  # loaded from the snapshots
        page, _ = hub.attach(1, None)
        redis_server.stop()
        await _until(lambda: not hub.board.live_up)
        events.ended("testpbx/2.2", "hangup")  # lost: Redis is away
        redis_server.start()  # empty (no persistence): both snapshots are gone
        await _until(lambda: hub.board.live_up)
        assert hub.board.calls.live == {}  # resynced: the board shows what Redis knows
        # the first call's next change writes its whole state again: it is back
        await asyncio.sleep(0.1)
        events.step(REF, Step.record, "help")
        await _until(lambda: len(hub.board.calls.live) == 1)
        names = [n for n, _ in await _frames(page, 6)]
        assert names == ["link", "call_gone", "call_gone", "link", "call"] or \
            (names[:1] == ["link"] and names.count("call_gone") == 2 and names[-1] == "call")
        await events.close()
        await hub.close()

    run(scenario())


def test_stale_index_entries_are_cleaned_up(redis_server: RedisServer) -> None:
    async def scenario() -> list[str]:
        events = CallEvents(redis_client(redis_server.url))
        events.started(REF, "a", None)
        events.started("testpbx/2.2", "b", None)
        reader = redis_client(redis_server.url)
        await _until_async(lambda: reader.zcard(INDEX), 2)
        await reader.delete(f"hotline:ivr:call:{new_call('testpbx/2.2', 'x', None, 0).topic}")
        refs = [s.ref for s in await load_calls(reader)]
        assert await reader.zcard(INDEX) == 1
        await reader.aclose()
        await events.close()
        return refs

    assert run(scenario()) == [REF]


async def _until_async(check: Callable[[], Awaitable[int]], want: int) -> None:
    for _ in range(500):
        if await check() == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


def test_resync_removes_calls_that_ended_unseen() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None)
        a = new_call(REF, "a", None, 1.0)
        b = new_call("testpbx/2.2", "b", None, 2.0)
        hub.resync([a, b])
        page, _ = hub.attach(1, None)
        hub.resync([replace(a, step=Step.record)])
        got = drain(page)
        assert [(n, d.get("id") or d["call"]["id"]) for _, n, d in got] == [
            ("call_gone", b.topic), ("call", a.topic)]
        assert got[0][2]["why"] == "gone"

    run(scenario())
