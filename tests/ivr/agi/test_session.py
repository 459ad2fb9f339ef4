"""The asyncio session and server against scripted Asterisk replies over real TCP sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.agi.protocol import ProtocolError
from ivr.agi.server import AgiServer
from ivr.agi.session import AgiSession, ChannelHungUp, CommandFailed, ConnectionLost

ENV = "agi_network: yes\nagi_network_script: {script}\nagi_uniqueid: {uid}\n\n"


async def asterisk(port: int, replies: list[list[str] | None], *, script: str = "test",
                   uid: str = "1.1", close_at_end: bool = True) -> list[str]:
    """Send the env block, then answer the n-th command with ``replies[n]`` (None: say
    nothing, hold the line open until the gateway gives up)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV.format(script=script, uid=uid).encode())
    seen: list[str] = []
    try:
        for reply in replies:
            raw = await reader.readline()
            if not raw:
                break
            seen.append(raw.decode().rstrip("\n"))
            if reply is None:
                await reader.read()  # until the gateway closes the connection
                break
            writer.write("".join(x + "\n" for x in reply).encode())
            await writer.drain()
        else:
            if not close_at_end:
                await reader.read()
    finally:
        writer.close()
    return seen


Outcome = dict[str, object]


async def run(handler: Callable[[AgiSession, Outcome], Awaitable[None]],
              replies: list[list[str] | None], **server_kw: float) -> tuple[Outcome, list[str]]:
    outcome: Outcome = {}
    done = asyncio.Event()

    async def route(session: AgiSession) -> None:
        try:
            await handler(session, outcome)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            outcome["hung_up"] = session.hung_up
            done.set()

    server = AgiServer({"test": route}, port=0, **server_kw)
    await server.start()
    try:
        seen = await asterisk(server.port, replies)
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await server.close(grace=1)
    return outcome, seen


def test_commands_and_replies() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.answer()
        out["digit"] = await s.stream_file("/p/menu", "123")
        out["wait"] = await s.wait_for_digit(100)
        out["data"] = await s.get_data("/p/ask", 100, 10)
        out["var"] = await s.get_variable("X")
        out["unset"] = await s.get_variable("Y")
        out["env"] = s.env.script, s.unique_id

    out, seen = asyncio.run(run(handler, [
        ["200 result=0"], ["200 result=50 endpos=100"], ["200 result=0"],
        ["200 result=2611260001"], ["200 result=1 (东城 (A) 区)"], ["200 result=0"],
    ]))
    assert "error" not in out
    assert seen == ["ANSWER", 'STREAM FILE "/p/menu" "123" 0', "WAIT FOR DIGIT 100",
                    'GET DATA "/p/ask" 100 10', 'GET VARIABLE "X"', 'GET VARIABLE "Y"']
    assert (out["digit"], out["wait"], out["data"]) == ("2", "", "2611260001")
    assert (out["var"], out["unset"]) == ("东城 (A) 区", None)
    assert out["env"] == ("test", "1.1")
    assert out["hung_up"] is False


def test_asynchronous_hangup_line_then_511() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        out["first"] = await s.stream_file("/p/greeting", "1")  # HANGUP arrives first
        await s.set_variable("IVR_ACTION", "x")  # still allowed on a dead channel
        await s.stream_file("/p/menu")

    out, _ = asyncio.run(run(handler, [
        ["HANGUP", "200 result=-1 endpos=100"],
        ["200 result=1"],
        ["511 Command Not Permitted on a dead channel or intercept routine"],
    ]))
    assert isinstance(out["error"], ChannelHungUp)
    assert out["hung_up"] is True


def test_511_ends_the_call() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.wait_for_digit(1000)

    out, _ = asyncio.run(run(handler, [["511 Command Not Permitted on a dead channel"]]))
    assert isinstance(out["error"], ChannelHungUp)
    assert not isinstance(out["error"], ConnectionLost)


def test_520_usage_block_is_a_command_failure() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        try:
            await s.stream_file("/p/x")
        except CommandFailed as exc:
            out["usage"] = str(exc)
        out["after"] = await s.wait_for_digit(10)  # the session is still in step

    out, _ = asyncio.run(run(handler, [
        ["520-Invalid command syntax.  Proper usage follows:",
         " Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]",
         "520 End of proper usage."],
        ["200 result=51"],
    ]))
    assert "error" not in out
    assert "Usage: STREAM FILE" in str(out["usage"])
    assert out["after"] == "3"


def test_510_is_a_command_failure() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.answer()

    out, _ = asyncio.run(run(handler, [["510 Invalid or unknown command"]]))
    assert isinstance(out["error"], CommandFailed)


def test_connection_closed_mid_command() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.answer()
        await s.stream_file("/p/greeting")

    out, _ = asyncio.run(run(handler, [["200 result=0"]]))  # then Asterisk closes
    assert isinstance(out["error"], ConnectionLost)


def test_garbage_reply_closes_the_session() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.answer()

    out, _ = asyncio.run(run(handler, [["HTTP/1.1 200 OK"]]))
    assert type(out["error"]).__name__ == "ProtocolError"


def test_silent_asterisk_does_not_block_other_calls() -> None:
    async def scenario() -> tuple[Outcome, Outcome, bool]:
        results: dict[str, Outcome] = {"silent": {}, "normal": {}}
        normal_done = asyncio.Event()
        silent_done = asyncio.Event()

        async def route(session: AgiSession) -> None:
            silent = session.unique_id == "silent"
            out = results["silent" if silent else "normal"]
            try:
                await session.answer()
                out["digit"] = await session.wait_for_digit(10)
            except Exception as exc:
                out["error"] = exc
            (silent_done if silent else normal_done).set()

        server = AgiServer({"test": route}, port=0)  # default 120 s command timeout
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(ENV.format(script="test", uid="silent").encode())
            assert await reader.readline() == b"ANSWER\n"  # ... and Asterisk says nothing
            normal = await asterisk(server.port, [["200 result=0"], ["200 result=55"]],
                                    uid="normal")
            await asyncio.wait_for(normal_done.wait(), 10)
            silent_still_waiting = not silent_done.is_set()
            writer.close()  # now the silent Asterisk goes away
            await asyncio.wait_for(silent_done.wait(), 10)
        finally:
            await server.close(grace=1)
        assert normal == ["ANSWER", "WAIT FOR DIGIT 10"]
        return results["silent"], results["normal"], silent_still_waiting

    silent, normal, silent_still_waiting = asyncio.run(scenario())
    assert normal == {"digit": "7"}
    assert silent_still_waiting
    assert isinstance(silent["error"], ConnectionLost)


def test_silent_asterisk_times_out() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        await s.answer()

    out, seen = asyncio.run(run(handler, [None], command_timeout=0.3))
    assert seen == ["ANSWER"]
    assert isinstance(out["error"], ConnectionLost)
    assert "no reply" in str(out["error"])


def test_unknown_script_hangs_up() -> None:
    async def scenario() -> list[str]:
        server = AgiServer({"96010": lambda s: asyncio.sleep(0)}, port=0)
        await server.start()
        try:
            return await asterisk(server.port, [["200 result=1"]], script="nope")
        finally:
            await server.close(grace=1)

    assert asyncio.run(scenario()) == ["HANGUP"]


@pytest.mark.parametrize("block", [b"GET / HTTP/1.1\n\n", b"agi_uniqueid: 1\n"])
def test_bad_or_cut_environment_is_dropped(block: bytes) -> None:
    async def scenario() -> bytes:
        called = False

        async def route(session: AgiSession) -> None:
            nonlocal called
            called = True

        server = AgiServer({"test": route}, port=0, env_timeout=0.5)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(block)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 10)
            writer.close()
        finally:
            await server.close(grace=1)
        assert not called
        return data

    assert asyncio.run(scenario()) == b""


def test_missing_prompt_does_not_end_the_call() -> None:
    async def handler(s: AgiSession, out: Outcome) -> None:
        out["played"] = await s.stream_file("/p/missing", "1")  # Asterisk: no such file
        out["digit"] = await s.wait_for_digit(100)

    out, _ = asyncio.run(run(handler, [["200 result=-1 endpos=0"], ["200 result=49"]]))
    assert "error" not in out
    assert (out["played"], out["digit"], out["hung_up"]) == ("", "1", False)


reply_lines = st.lists(
    st.one_of(
        st.sampled_from(["HANGUP", "200 result=0", "200 result=-1", "200 result=49 endpos=9",
                         "511 Command Not Permitted on a dead channel", "510 Invalid",
                         "520-Invalid command syntax.  Proper usage follows:",
                         "520 End of proper usage.", "200 result= (timeout)"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                       blacklist_characters="\n\r"), max_size=40),
    ),
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(reply_lines, min_size=1, max_size=4))
def test_fuzz_any_asterisk_replies_end_cleanly(replies: list[list[str]]) -> None:
    """Whatever Asterisk sends, a command returns or raises one of the documented errors."""

    async def handler(s: AgiSession, out: Outcome) -> None:
        for _ in replies:
            await s.stream_file("/p/x", "1")

    out, _ = asyncio.run(run(handler, [*replies, []], command_timeout=0.3))
    error = out.get("error")
    assert error is None or isinstance(error, ChannelHungUp | CommandFailed | ProtocolError), \
        repr(error)
