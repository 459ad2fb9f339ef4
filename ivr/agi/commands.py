"""AGI command lines, built by pyst2's :class:`asterisk.agi.AGI` with its I/O taken out.

pyst2's ``AGI`` knows each command's name and argument order (``RECORD FILE <file> <format>
<escape digits> <timeout> <offset> [beep] s=<silence>``, which arguments it quotes, digit lists
as strings). We keep exactly that and replace what cannot run in an asyncio server:

* ``AGI.__init__`` installs a SIGHUP handler (only allowed in the main thread, and meaningless
  for FastAGI, where a hang-up is a ``HANGUP`` line), writes its arguments to stderr and reads
  the environment from ``sys.stdin`` — :class:`CommandBuilder` never calls it.
* ``AGI.execute`` writes to stdout and blocks on ``readline`` — here it only captures the line;
  the asyncio session (:mod:`ivr.agi.session`) sends it and reads the reply.
* ``AGI._quote`` wraps in double quotes without escaping ``"`` or ``\\`` (and on Python 2
  ASCII-encodes) — here values are escaped the way ``res_agi``'s ``parse_args`` unescapes them,
  stay UTF-8, and CR/LF/NUL are refused (they would end the command line early).
* pyst2 echoes every command and result to stderr — nothing is echoed here (the session logs at
  DEBUG with masking where it matters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asterisk.agi import AGI


class _Captured(Exception):
    def __init__(self, line: str) -> None:
        self.line = line


def quote(value: object) -> str:
    """One AGI argument in double quotes, escaped for ``res_agi``'s argument parser."""
    text = str(value)
    if any(c in text for c in "\r\n\x00"):
        raise ValueError("AGI arguments cannot contain CR, LF or NUL")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class CommandBuilder(AGI):  # type: ignore[misc]
    """pyst2's AGI command layer with no I/O: each method returns nothing but raises the line."""

    def __init__(self) -> None:  # deliberately not AGI.__init__ (see the module docstring)
        self.env: dict[str, str] = {}
        self._got_sighup = False

    def _quote(self, string: object) -> str:
        return quote(string)

    def execute(self, command: str, *args: Any) -> dict[str, tuple[str, str]]:
        words = [command.strip(), *(str(a) for a in args)]
        line = " ".join(w for w in words if w != "")
        if any(c in line for c in "\r\n\x00"):
            raise ValueError("AGI command lines cannot contain CR, LF or NUL")
        raise _Captured(line)


_BUILDER = CommandBuilder()


def build(call: Callable[[CommandBuilder], object]) -> str:
    """The command line that ``call(agi)`` would send, e.g. ``build(lambda a: a.answer())``."""
    try:
        call(_BUILDER)
    except _Captured as captured:
        return captured.line
    raise RuntimeError("the pyst2 method sent no command")


def answer() -> str:
    return build(lambda a: a.answer())


def stream_file(path: str, escape_digits: str = "") -> str:
    return build(lambda a: a.stream_file(quote(path), escape_digits))


def wait_for_digit(timeout_ms: int) -> str:
    return build(lambda a: a.wait_for_digit(timeout_ms))


def get_data(path: str, timeout_ms: int, max_digits: int) -> str:
    return build(lambda a: a.get_data(quote(path), timeout_ms, max_digits))


def record_file(path: str, fmt: str, escape_digits: str, timeout_ms: int, silence_s: int) -> str:
    return build(
        lambda a: a.record_file(path, fmt, escape_digits, timeout_ms, 0, "", silence_s)
    )


def set_variable(name: str, value: str) -> str:
    return build(lambda a: a.set_variable(name, value))


def get_variable(name: str) -> str:
    return build(lambda a: a.get_variable(name))


def hangup() -> str:
    return build(lambda a: a.hangup())


def exec_app(application: str, options: str = "") -> str:
    return build(lambda a: a.appexec(application, options))


def verbose(message: str, level: int = 1) -> str:
    return build(lambda a: a.verbose(message, level))
