"""A tiny synchronous Asterisk Manager Interface (AMI) client for tests.

One TCP connection, logged in on construction. :meth:`Ami.action` sends an action and returns
its response followed by the events of its event list (``EventList: start`` ...
``EventList: Complete``); other events that arrive meanwhile are kept for :meth:`wait_event`.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

Message = dict[str, str]
ActionValue = str | Sequence[str]


class AmiError(RuntimeError):
    pass


def encode_action(action: Mapping[str, ActionValue]) -> bytes:
    """Wire form of an action; a sequence value repeats the header (e.g. ``Variable``)."""
    lines: list[str] = []
    for key, value in action.items():
        values = [value] if isinstance(value, str) else list(value)
        for v in values:
            if "\r" in v or "\n" in v or "\r" in key or "\n" in key:
                raise ValueError(f"line break in AMI header {key!r}")
            lines.append(f"{key}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_message(block: str) -> Message:
    """One AMI message (header lines, no blank line) as a dict; repeated keys are joined by
    newlines (``Output`` of ``Command``)."""
    message: Message = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            key, value = "Output", line
        key, value = key.strip(), value.strip()
        message[key] = f"{message[key]}\n{value}" if key in message else value
    return message


class Ami:
    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 events: bool = False, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._buffer = b""
        self._ids = itertools.count(1)
        self.pending: deque[Message] = deque()
        banner = self._read_line()
        if not banner.startswith("Asterisk Call Manager"):
            raise AmiError(f"not an AMI server: {banner!r}")
        reply = self.action({"Action": "Login", "Username": username, "Secret": secret,
                             "Events": "on" if events else "off"})[0]
        if reply.get("Response") != "Success":
            raise AmiError(f"AMI login refused: {reply.get('Message')}")

    def __enter__(self) -> Ami:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(encode_action({"Action": "Logoff"}))
        self._sock.close()

    def _read_line(self) -> str:
        while b"\r\n" not in self._buffer:
            self._fill()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise AmiError("AMI connection closed")
        self._buffer += chunk

    def read_message(self) -> Message:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        block, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return parse_message(block.decode("utf-8", "replace"))

    def send(self, action: Mapping[str, ActionValue]) -> str:
        action_id = str(action.get("ActionID") or f"t{next(self._ids)}")
        self._sock.sendall(encode_action({**action, "ActionID": action_id}))
        return action_id

    def action(self, action: Mapping[str, ActionValue]) -> list[Message]:
        action_id = self.send(action)
        replies: list[Message] = []
        while True:
            message = self.read_message()
            if message.get("ActionID") != action_id:
                if "Event" in message:
                    self.pending.append(message)
                continue
            replies.append(message)
            if len(replies) == 1 and message.get("EventList", "").lower() != "start":
                return replies
            if message.get("EventList", "").lower() == "complete":
                return replies

    def wait_event(self, predicate: Callable[[Message], bool], timeout: float) -> Message:
        """The first event (kept or new) for which ``predicate`` is true."""
        for message in list(self.pending):
            if predicate(message):
                self.pending.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("AMI event not seen in time")
            self._sock.settimeout(left)
            try:
                message = self.read_message()
            except TimeoutError:
                raise TimeoutError("AMI event not seen in time") from None
            finally:
                self._sock.settimeout(self._timeout)
            if "Event" in message and predicate(message):
                return message
            if "Event" in message:
                self.pending.append(message)
