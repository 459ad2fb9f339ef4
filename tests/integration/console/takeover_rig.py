"""The gateway in front of a real Asterisk, for the takeover test and its benchmark.

Everything runs as the product runs it, each a real process:

* a private Redis (:class:`tests.support.services.RedisServer`);
* ``hotline agi`` (the 96010 flow, publishing each call's lifecycle and — with
  ``transcribe="live"`` — its live transcript on Redis);
* ``hotline serve`` (the console: its AMI link to the test Asterisk, its Redis subscriber, the
  board's SSE stream, the takeover and queue routes);
* the test Asterisk 22 with the people's endpoints as ``console.pjsip.render`` writes them
  (``pjsip-operators.conf``), each AOR given a static contact on one SIPp UAS that answers
  every call (the operators' desk phones), and no static queue member: the operators join
  ``operators-96010`` from the console (AMI QueueAdd);
* operators logged in through the console's login form (:class:`Operator`), each with their
  board stream (:class:`SseReader`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from console import pjsip
from console.people import People, Person, Role
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.support.agi_process import agi_process, listening
from tests.support.asterisk import Asterisk, CallResult, free_udp_port
from tests.support.services import RedisServer, free_port, stop_process, wait_until
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.store import Store

PASSWORD = "takeover-test-password-1"
SECRET = "console-takeover-secret-0123456789abcdef"
QUEUE = "operators-96010"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
HTML = {"accept": "text/html,application/xhtml+xml"}


class SamePortsAsterisk(Asterisk):
    """An Asterisk that keeps its ports when restarted (the gateway's AMI settings name the
    port): the first start picks them, later starts reuse them."""

    def _pick_ports(self) -> None:
        if self.sip_port:
            return
        super()._pick_ports()


@dataclass(frozen=True)
class SseEvent:
    at: float  # time.monotonic() when the frame was read
    name: str
    data: dict[str, Any]


class SseReader:
    """One console page's board stream (``GET /console/events``), read in a thread."""

    def __init__(self, client: httpx.Client, path: str = "/console/events") -> None:
        self.client = client
        self.path = path
        self.events: list[SseEvent] = []
        self.error: BaseException | None = None
        self._lock = threading.Condition()
        self._response: httpx.Response | None = None
        self._closing = False
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise TimeoutError(f"the board stream did not open: {self.error!r}")

    def _run(self) -> None:
        try:
            with self.client.stream("GET", self.path,
                                    timeout=httpx.Timeout(10, read=None)) as response:
                self._response = response
                response.raise_for_status()
                self._opened.set()
                name, data = "message", ""
                for line in response.iter_lines():
                    if line == "":
                        if data:
                            self._add(SseEvent(time.monotonic(), name, json.loads(data)))
                        name, data = "message", ""
                    elif line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
        except BaseException as exc:
            if not self._closing:
                self.error = exc
        finally:
            self._opened.set()

    def _add(self, event: SseEvent) -> None:
        with self._lock:
            self.events.append(event)
            self._lock.notify_all()

    def wait_for(self, predicate: Callable[[SseEvent], bool], timeout: float,
                 after: int = 0) -> SseEvent:
        """The first event (from index ``after``) for which ``predicate`` is true."""
        deadline = time.monotonic() + timeout
        with self._lock:
            seen = after
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    names = [e.name for e in self.events[-30:]]
                    raise TimeoutError(f"no such board event within {timeout}s (last: {names}, "
                                       f"stream error: {self.error!r})")
                self._lock.wait(min(left, 0.5))

    def close(self) -> None:
        self._closing = True
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()
        self._thread.join(5)


@dataclass
class Operator:
    person: Person
    client: httpx.Client
    csrf: str
    pages: list[SseReader] = field(default_factory=list)

    @property
    def login(self) -> str:
        return self.person.login

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def open_page(self) -> SseReader:
        page = SseReader(self.client)
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            page.close()
        self.client.close()


def desk_contacts(text: str, contact: str) -> str:
    """``pjsip-operators.conf`` as console.pjsip renders it, each AOR given a static contact
    (``contact`` with ``{name}`` for the endpoint) and no OPTIONS qualify: the "desk phones"
    are one SIPp UAS that answers whatever it is sent."""
    out = []
    for line in text.splitlines():
        out.append(line)
        found = re.fullmatch(r"\[(op-[a-z0-9_-]+)\]\(operator-aor\)", line)
        if found:
            out.append(f"contact = {contact.format(name=found.group(1))}")
            out.append("qualify_frequency = 0")
    return "\n".join(out) + "\n"


@dataclass
class ConsoleRig:
    base: Path
    redis: RedisServer
    store: Store
    people: People
    ast: SamePortsAsterisk
    http_port: int
    agi_log: Path
    serve_log: Path
    serve: subprocess.Popen[bytes]
    shared: Path
    operators: dict[str, Operator] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def log_in(self, login: str) -> Operator:
        """A browser session of ``login`` through the real login form."""
        person = self.people.by_login(login)
        assert person is not None, login
        client = httpx.Client(base_url=self.url, timeout=10)
        page = client.get("/console/login", headers=HTML)
        token = _CSRF_FIELD.search(page.text)
        assert token, page.text[:500]
        done = client.post("/console/login", headers=HTML, follow_redirects=False,
                           data={"login": login, "password": PASSWORD,
                                 "csrf": token.group(1), "next": "/console/"})
        assert done.status_code in (302, 303), (done.status_code, done.text[:500])
        board = client.get("/console/", headers=HTML)
        assert board.status_code == 200, board.text[:500]
        meta = _CSRF_META.search(board.text)
        assert meta, board.text[:500]
        operator = Operator(person, client, meta.group(1))
        self.operators[login] = operator
        return operator

    def call(self, *, script: Sequence[tuple[str, str]], caller_id: str,
             timeout: float = 120) -> CallThread:
        return CallThread(self.ast, script=script, caller_id=caller_id, timeout=timeout)

    def hang_up_operators(self) -> None:
        """Hang up every operator leg (the SIPp desk phones never hang up by themselves)."""
        with contextlib.suppress(Exception):
            self.ast.ami({"Action": "Hangup", "Channel": "/^PJSIP\\/op-/"})

    def serve_rss_cpu(self) -> tuple[float, float]:
        return process_rss_mb(self.serve.pid), process_cpu_seconds(self.serve.pid)


class CallThread:
    """``Asterisk.call_local`` (which blocks until both legs hang up) in a thread."""

    def __init__(self, ast: Asterisk, *, script: Sequence[tuple[str, str]], caller_id: str,
                 timeout: float) -> None:
        self.result: CallResult | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = ast.call_local(caller_id=caller_id, script=script,
                                             timeout=timeout)
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> CallResult:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the caller's call did not end")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def process_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _sipp_uas(port: int, work: Path) -> subprocess.Popen[bytes]:
    """SIPp's built-in UAS: 180, 200 with SDP, then waits for the BYE — for every call."""
    exe = shutil.which("sipp")
    if exe is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    out = open(work / "sipp-uas.out", "wb")  # noqa: SIM115 - closed with the process
    try:
        proc = subprocess.Popen(
            [exe, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
             "-mp", str(free_udp_port() & ~1 or 40000), "-nostdin", "-aa", "-trace_err",
             "-error_file", str(work / "sipp-uas-errors.log")],
            cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()
    return proc


def _serve(env: dict[str, str], port: int, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotline", "serve", "--host", "127.0.0.1", "--port",
             str(port)], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, timeout=60)
    except TimeoutError:
        stop_process(proc)
        raise
    if proc.poll() is not None:
        raise RuntimeError(f"hotline serve exited:\n{log.read_text(errors='replace')[-3000:]}")
    return proc


@contextmanager
def console_rig(base: Path, *, logins: Sequence[str], transcribe: str = "batch",
                log_level: str = "INFO") -> Iterator[ConsoleRig]:
    """Start everything (see the module); ``logins`` become operators with desk phones."""
    base.mkdir(parents=True, exist_ok=True)
    shared = base / "shared"
    prompts = shared / "prompts"
    build_prompts(GENERATED)
    shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"))
    (shared / "caller").mkdir(parents=True)
    url = f"sqlite:///{base / 'hotline.sqlite3'}"
    db = Database(url)
    upgrade(db)
    store = Store(db)
    people = People(db)
    for login in logins:
        people.add(login, f"话务员{login}", Role.operator, PASSWORD, "deskphone")
    uas_port = free_udp_port()
    operators_conf = desk_contacts(pjsip.render(people.list()),
                                   f"sip:{{name}}@127.0.0.1:{uas_port}")
    (base / "pjsip-operators.conf").write_text(operators_conf)
    with ExitStack() as stack:
        stack.callback(db.dispose)
        redis = RedisServer(base / "redis")
        redis.start()
        stack.callback(redis.stop)
        uas = _sipp_uas(uas_port, base)
        stack.callback(stop_process, uas)
        agi_port, audiosocket_port = free_port(), free_port()
        env = {**os.environ, "HOTLINE_ENV": "development", "HOTLINE_DATA_DIR": str(base / "data"),
               "HOTLINE_DATABASE_URL": url, "HOTLINE_REDIS_URL": redis.url,
               "HOTLINE_PROMPTS_DIR": str(prompts),
               "HOTLINE_RECORDINGS_DIR": str(shared / "recordings"),
               "HOTLINE_AGI_HOST": "127.0.0.1", "HOTLINE_AGI_PORT": str(agi_port),
               "HOTLINE_AUDIOSOCKET_PORT": str(audiosocket_port),
               "HOTLINE_LIVE_STREAMS_PER_PROCESS": "1", "HOTLINE_LOG_LEVEL": log_level,
               "HOTLINE_RATE_LIMITS": "false"}
        env.pop("HOTLINE_VOSK_MODEL", None)
        agi_log = base / "agi.log"
        stack.enter_context(agi_process(env, agi_port, agi_log, transcribe, timeout=120))
        if transcribe == "live":
            wait_until(lambda: "recognizer 0 ready" in agi_log.read_text(errors="replace"),
                       timeout=300)
        ast = SamePortsAsterisk(
            base / "ast", agi_port=agi_port, audiosocket_port=audiosocket_port,
            shared_dir=shared, prompts_dir=prompts,
            overrides={"pjsip-operators.conf": operators_conf,
                       # nobody in the queue until an operator logs in from the console
                       "queues-96010-members.conf": "; operators join from the console\n"})
        ast.start()
        stack.callback(lambda: ast.stop())
        http_port = free_port()
        serve_env = {**env, "HOTLINE_CONSOLE_SECRET": SECRET, "HOTLINE_AMI_HOST": "127.0.0.1",
                     "HOTLINE_AMI_PORT": str(ast.ami_port),
                     "HOTLINE_AMI_USERNAME": ast.ami_user, "HOTLINE_AMI_SECRET": ast.ami_secret}
        serve_log = base / "serve.log"
        serve = _serve(serve_env, http_port, serve_log, base)
        stack.callback(stop_process, serve)
        rig = ConsoleRig(base, redis, store, people, ast, http_port, agi_log, serve_log, serve,
                         shared)
        try:
            yield rig
        finally:
            for operator in rig.operators.values():
                operator.close()
            rig.hang_up_operators()
