"""Known-answer tests of AGI reply parsing with literal Asterisk 22 replies, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.agi.protocol import (
    HANGUP,
    ProtocolError,
    Reply,
    ReplyParser,
    parse_env_line,
    parse_reply,
)


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "fields"),
    [
        ("200 result=1", 200, "1", None, {}),
        ("200 result=-1", 200, "-1", None, {}),
        ("200 result=0", 200, "0", None, {}),
        ("200 result=0 (timeout)", 200, "0", "timeout", {}),
        ("200 result=35 (dtmf) endpos=1234", 200, "35", "dtmf", {"endpos": "1234"}),
        ("200 result=1 (value)", 200, "1", "value", {}),
        ("200 result=0 endpos=8000", 200, "0", None, {"endpos": "8000"}),
        ("200 result=49 endpos=3120", 200, "49", None, {"endpos": "3120"}),
        ("200 result=-1 (hangup) endpos=16000", 200, "-1", "hangup", {"endpos": "16000"}),
        ("200 result=0 (timeout) endpos=40000", 200, "0", "timeout", {"endpos": "40000"}),
        ("200 result=-1 (writefile)", 200, "-1", "writefile", {}),
        ("200 result=2611260001", 200, "2611260001", None, {}),
        ("200 result=12 (timeout)", 200, "12", "timeout", {}),
        ("200 result= (timeout)", 200, "", "timeout", {}),
        ("200 result=", 200, "", None, {}),
        # a variable's value may hold spaces, parentheses and non-ASCII text
        ("200 result=1 (东城区 (朝阳门) 12号)", 200, "1", "东城区 (朝阳门) 12号", {}),
        ("200 result=1 ()", 200, "1", "", {}),
        ("200 result=0\r", 200, "0", None, {}),
    ],
)
def test_200_replies(line: str, code: int, result: str, data: str | None,
                     fields: dict[str, str]) -> None:
    reply = parse_reply([line])
    assert (reply.code, reply.result, reply.data, dict(reply.fields)) == (code, result, data,
                                                                          fields)
    assert reply.ok


def test_numbers_and_seam_tuple() -> None:
    assert parse_reply(["200 result=35 (dtmf) endpos=1234"]).as_tuple() == (200, 35, "dtmf")
    assert parse_reply(["200 result=-1"]).number == -1
    assert parse_reply(["200 result= (timeout)"]).number is None
    assert parse_reply(["510 Invalid or unknown command"]).as_tuple() == (
        510, -1, "Invalid or unknown command")


def test_510_and_511() -> None:
    r = parse_reply(["510 Invalid or unknown command"])
    assert (r.code, r.message, r.dead_channel, r.ok) == (510, "Invalid or unknown command",
                                                        False, False)
    r = parse_reply(["511 Command Not Permitted on a dead channel or intercept routine"])
    assert r.code == 511 and r.dead_channel
    assert r.message == "Command Not Permitted on a dead channel or intercept routine"


def test_520_usage_block() -> None:
    lines = [
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]",
        "",
        "     Send the given file, allowing playback to be interrupted by the given",
        "520 End of proper usage.",
    ]
    parser = ReplyParser()
    assert [parser.feed(x) for x in lines[:-1]] == [None] * 4
    assert parser.in_block
    reply = parser.feed(lines[-1])
    assert isinstance(reply, Reply)
    assert reply.code == 520
    assert reply.message == "Invalid command syntax.  Proper usage follows:"
    assert reply.usage[0] == " Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]"
    assert reply.usage[-1] == "End of proper usage."
    assert not parser.in_block
    assert parse_reply(lines) == reply


def test_520_single_line() -> None:
    r = parse_reply(["520 Invalid command syntax.  Proper usage not available."])
    assert r.code == 520 and r.usage == ()


def test_hangup_line_is_asynchronous() -> None:
    parser = ReplyParser()
    assert parser.feed("HANGUP") is HANGUP
    reply = parser.feed("200 result=-1")
    assert isinstance(reply, Reply) and reply.result == "-1"
    with pytest.raises(ProtocolError):
        parse_reply(["HANGUP"])


@pytest.mark.parametrize(
    "line",
    ["", "hello", "200", "200 result", "200 foo=1", "2000 result=1", "abc result=1",
     "200result=1", "200 result=1 (open", "200 result=1 x", "404 Not Found",
     "100 Trying", "200 result=1\x00", "x" * 20000],
)
def test_malformed_replies(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_reply([line])


def test_incomplete_and_trailing() -> None:
    with pytest.raises(ProtocolError):
        parse_reply(["520-Invalid command syntax.  Proper usage follows:"])
    with pytest.raises(ProtocolError):
        parse_reply(["200 result=1", "200 result=0"])


def test_env_lines() -> None:
    assert parse_env_line("agi_network_script: 96010") == ("agi_network_script", "96010")
    assert parse_env_line("agi_callerid: 13800138000\n") == ("agi_callerid", "13800138000")
    assert parse_env_line("agi_calleridname: 张三") == ("agi_calleridname", "张三")
    assert parse_env_line("agi_arg_1: a:b") == ("agi_arg_1", "a:b")
    assert parse_env_line("agi_rdnis: ") == ("agi_rdnis", "")
    assert parse_env_line("") is None
    for bad in ("no colon", "agi_x", "GET /index.html HTTP/1.1", "x: y"):
        with pytest.raises(ProtocolError):
            parse_env_line(bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=8))
def test_fuzz_reply_lines_raise_only_protocol_error(lines: list[str]) -> None:
    parser = ReplyParser()
    for line in lines:
        try:
            out = parser.feed(line)
        except ProtocolError:
            parser = ReplyParser()
            continue
        assert out is None or out is HANGUP or isinstance(out, Reply)


reply_like = st.builds(
    lambda code, sep, body: f"{code}{sep}{body}",
    st.sampled_from(["200", "510", "511", "520", "201", "999"]),
    st.sampled_from([" ", "-", ""]),
    st.text(alphabet=st.sampled_from(list("result=()-1234567890 abcdefg#*\t")), max_size=60),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(reply_like, min_size=1, max_size=6))
def test_fuzz_reply_shaped_lines(lines: list[str]) -> None:
    try:
        reply = parse_reply(lines)
    except ProtocolError:
        return
    assert reply.code in (200, 510, 511, 520)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_env_lines(line: str) -> None:
    try:
        out = parse_env_line(line)
    except ProtocolError:
        return
    assert out is None or out[0].startswith("agi_")
