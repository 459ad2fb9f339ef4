"""The AGI wire protocol as pure functions: the environment block and command replies.

No I/O here. Lines are ``str`` without the trailing newline. Everything malformed raises
:class:`ProtocolError` and nothing else (the parser is fuzzed with hypothesis).

Replies Asterisk sends (``res_agi.c``)::

    200 result=1                         200 result=-1
    200 result=0 endpos=8000             200 result=35 (dtmf) endpos=1234
    200 result=1 (value)                 200 result= (timeout)
    510 Invalid or unknown command       511 Command Not Permitted on a dead channel ...
    520-Invalid command syntax.  Proper usage follows:
    Usage: ...
    520 End of proper usage.
    HANGUP                               (asynchronous: the caller hung up)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

HANGUP_LINE = "HANGUP"
MAX_LINE = 16 * 1024

_STATUS = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -]?)(?P<text>.*)$", re.DOTALL)
_RESULT = re.compile(r"^result=(?P<result>\S*)(?P<rest>.*)$", re.DOTALL)
_FIELD = re.compile(r"(?P<key>\w+)=(?P<value>\S*)")
_ENV_KEY = re.compile(r"^agi_\w+$")


class ProtocolError(ValueError):
    """A line that is not valid AGI."""


@dataclass(frozen=True)
class Reply:
    """One reply to one command."""

    code: int
    result: str = ""  # the raw ``result=`` value of a 200 reply ("" when absent or empty)
    data: str | None = None  # the text in parentheses: "dtmf", "timeout", a variable's value
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    message: str = ""  # text of a non-200 reply
    usage: tuple[str, ...] = ()  # the lines of a 520 usage block

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def dead_channel(self) -> bool:
        return self.code == 511

    @property
    def number(self) -> int | None:
        """``result`` as an int, or None when it is not a number (e.g. GET DATA digits ``*1``)."""
        try:
            return int(self.result)
        except ValueError:
            return None

    def as_tuple(self) -> tuple[int, int, str]:
        """(code, result, trailing data) as the recorder seam wants it (result -1 if none)."""
        number = self.number
        return self.code, (-1 if number is None else number), self.data or self.message


class Hangup:
    """The asynchronous ``HANGUP`` line (the caller hung up while a command ran)."""

    _instance: Hangup | None = None

    def __new__(cls) -> Hangup:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "HANGUP"


HANGUP = Hangup()


def _check_line(line: str) -> str:
    if not isinstance(line, str):
        raise ProtocolError(f"expected a text line, got {type(line).__name__}")
    if len(line) > MAX_LINE:
        raise ProtocolError(f"line longer than {MAX_LINE} characters")
    if "\n" in line.rstrip("\r\n") or "\x00" in line:
        raise ProtocolError("line contains a newline or NUL")
    return line.rstrip("\r\n")


def parse_env_line(line: str) -> tuple[str, str] | None:
    """``agi_key: value`` → (key, value); the blank line that ends the block → None."""
    text = _check_line(line)
    if text.strip() == "":
        return None
    key, sep, value = text.partition(":")
    key = key.strip()
    if not sep or not _ENV_KEY.match(key):
        raise ProtocolError(f"not an AGI environment line: {text[:80]!r}")
    return key, value.strip()


def _parse_200(text: str) -> Reply:
    m = _RESULT.match(text.strip())
    if m is None:
        raise ProtocolError(f"200 reply without result=: {text[:80]!r}")
    result, rest = m.group("result"), m.group("rest").strip()
    data: str | None = None
    if rest.startswith("("):
        close = rest.rfind(")")
        if close < 0:
            raise ProtocolError(f"unbalanced parenthesis in reply: {text[:80]!r}")
        data, rest = rest[1:close], rest[close + 1 :].strip()
    fields: dict[str, str] = {}
    for token in rest.split():
        fm = _FIELD.fullmatch(token)
        if fm is None:
            raise ProtocolError(f"unexpected token {token[:40]!r} in reply")
        fields[fm.group("key")] = fm.group("value")
    return Reply(code=200, result=result, data=data, fields=MappingProxyType(fields))


class ReplyParser:
    """Assembles replies from lines; keeps the state of a ``520-`` usage block.

    ``feed(line)`` returns a :class:`Reply`, :data:`HANGUP`, or None while inside a block.
    """

    def __init__(self) -> None:
        self._usage: list[str] | None = None
        self._usage_head = ""

    @property
    def in_block(self) -> bool:
        return self._usage is not None

    def feed(self, line: str) -> Reply | Hangup | None:
        text = _check_line(line)
        if self._usage is not None:
            if text.startswith("520 "):
                usage = (*self._usage, text[4:])
                self._usage = None
                return Reply(code=520, message=self._usage_head, usage=usage)
            if len(self._usage) >= 200:
                raise ProtocolError("520 usage block longer than 200 lines")
            self._usage.append(text)
            return None
        if text.strip() == HANGUP_LINE:
            return HANGUP
        m = _STATUS.match(text)
        if m is None:
            raise ProtocolError(f"not an AGI reply: {text[:80]!r}")
        code, sep, body = int(m.group("code")), m.group("sep"), m.group("text")
        if code == 520 and sep == "-":
            self._usage = []
            self._usage_head = body.strip()
            return None
        if sep == "" and body:
            raise ProtocolError(f"no space after the status code: {text[:80]!r}")
        if code == 200:
            return _parse_200(body)
        if code in (510, 511, 520):
            return Reply(code=code, message=body.strip())
        raise ProtocolError(f"unknown AGI status code {code}")


def parse_reply(lines: list[str]) -> Reply:
    """The reply made of exactly these lines (known-answer tests use this)."""
    parser = ReplyParser()
    for i, line in enumerate(lines):
        out = parser.feed(line)
        if isinstance(out, Reply):
            if i != len(lines) - 1:
                raise ProtocolError("lines after the end of the reply")
            return out
        if isinstance(out, Hangup):
            raise ProtocolError("HANGUP is not a reply")
    raise ProtocolError("incomplete reply")
