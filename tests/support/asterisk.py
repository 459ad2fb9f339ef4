"""A real Asterisk 22 (Debian sid package) for tests, run from the cached chroot.

Each :class:`Asterisk` runs in its own mount namespace (``unshare -m``): inside it the shared
root is bind-mounted over itself READ-ONLY, ``/proc`` and a private tmpfs ``/tmp`` are mounted,
the generated config folder appears at ``ROOT/etc/asterisk-test`` (read-only) and the work
folder, the shared folder and any extra folders appear at the SAME path as on the host (so a
``RECORD FILE`` path names the same file for Asterisk and for Python). All of Asterisk's
writable folders (astdb, spool, run, log, cache) point into the work folder. When Asterisk
exits the namespace disappears with every mount in it: nothing to unmount, nothing left over,
even when a test crashes. Several instances run from the one root at once (distinct work
folders and ports).

Usage::

    ast = Asterisk(tmp_path / "ast", agi_port=free_port(), shared_dir=tmp_path / "shared")
    ast.start()
    try:
        result = ast.call_local(caller_id="13800138000", script=[("wait", "2"), ("dtmf", "1")])
    finally:
        ast.stop()

Needs root (mount namespaces, chroot). See docs/asterisk.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from console import sip_digest
from tests.support.ami import Ami, AmiError, Message
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "asterisk-conf"
TEST_CONF_DIR = CONF_DIR / "test"
ROOT_SCRIPT = REPO / "scripts" / "asterisk-root.sh"
CACHE = Path(os.environ.get("HOTLINE_CACHE_DIR", "/var/cache/hotline-96010"))
DEFAULT_ROOT = Path(os.environ.get("HOTLINE_ASTERISK_ROOT", str(CACHE / "asterisk-root")))
CONFIG_MOUNT = "/etc/asterisk-test"
ASTERISK = "/usr/sbin/asterisk"
PR_SET_PDEATHSIG = 1
OPERATOR = "op-test"
SCRIPT_OPS = frozenset({"wait", "dtmf", "play", "hangup"})
DEV_NODES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
             "urandom": (1, 9), "tty": (5, 0)}


class AsteriskError(RuntimeError):
    pass


def ensure_root(root: Path = DEFAULT_ROOT) -> Path:
    """Build the sid root once (``scripts/asterisk-root.sh``, which serialises concurrent builders
    with a file lock) and make sure the device nodes Asterisk needs exist in it."""
    stamp = root / ".hotline-asterisk-version"
    recorded = stamp.read_text(encoding="utf-8") if stamp.exists() else ""
    if not (root / "usr/sbin/asterisk").exists() or not recorded.startswith("Asterisk 22."):
        subprocess.run([str(ROOT_SCRIPT), str(root)], check=True)  # it takes the build lock
    dev = root / "dev"
    for name, (major, minor) in DEV_NODES.items():
        node = dev / name
        if not node.exists():
            os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(node, 0o666)
    if not (dev / "fd").exists():
        (dev / "fd").symlink_to("/proc/self/fd")
    (dev / "pts").mkdir(exist_ok=True)
    return root


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``@NAME@`` placeholders; an unknown placeholder is an error, not a silent blank."""
    out = template
    for key, value in values.items():
        out = out.replace(f"@{key}@", value)
    if "@" in out:
        for token in out.split("@")[1::2]:
            if token.isupper() and token.replace("_", "").isalnum():
                raise KeyError(f"unfilled placeholder @{token}@")
    return out


def wav_complete(path: Path) -> bool:
    """True when a RIFF/WAVE file's header sizes agree with its length (Asterisk writes them
    when it closes the file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(44)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return False
    if len(head) < 44 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    riff_size = struct.unpack_from("<I", head, 4)[0]
    return bool(riff_size == size - 8)


def read_kv(path: Path) -> dict[str, str]:
    """key=value lines (later lines win); {} when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class CallResult:
    """The outcome of :meth:`Asterisk.call_local`.

    ``unique_id`` is the IVR leg's ``UNIQUEID`` (what the FastAGI server sees as
    ``agi_uniqueid``); ``vars`` holds every value the IVR leg's hangup handler wrote
    (``agistatus``, ``ivr_action``, ``ticket_id``, ``queuestatus``, ``hangupcause``, ...).
    """

    answered: bool
    unique_id: str | None
    hangup_cause: int | None
    caller_hangup_cause: int | None
    vars: dict[str, str] = field(default_factory=dict)
    hear: Path | None = None
    pbx: str = ""  # the PBX_ID the call ran under ("" = Asterisk's ENTITYID)

    @property
    def ref(self) -> str:
        """The call's ticket ``channel_ref`` (see ivr.tickets.voice_ref)."""
        uid = self.unique_id or ""
        return f"{self.pbx}/{uid}" if self.pbx else uid

    @property
    def agistatus(self) -> str:
        return self.vars.get("agistatus", "")

    @property
    def ivr_action(self) -> str:
        return self.vars.get("ivr_action", "")

    @property
    def ticket_id(self) -> str:
        return self.vars.get("ticket_id", "")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the thread that started it dies, so a
    killed test run leaves no Asterisk behind (start instances from a long-lived thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _cause(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class Asterisk:
    """One Asterisk instance with its own config, ports and state under ``workdir``."""

    def __init__(self, workdir: Path, *, agi_port: int, audiosocket_port: int | None = None,
                 shared_dir: Path, prompts_dir: Path | None = None,
                 spool_dir: Path | None = None, binds: Iterable[Path] = (),
                 overrides: Mapping[str, str] | None = None,
                 root: Path | None = None, pbx_id: str = "testpbx",
                 http_address: str = "127.0.0.1", agi_secret: str = "",
                 agi_backup: str = "") -> None:
        self.workdir = workdir.resolve()
        self.shared_dir = shared_dir.resolve()
        self.agi_port = agi_port
        self.agi_secret = agi_secret  # the AGI_SECRET global ("": none, as by default)
        self.agi_backup = agi_backup  # the AGI_BACKUP global, host:port ("": none)
        self.audiosocket_port = audiosocket_port or free_port()
        self.prompts_dir = (prompts_dir or self.shared_dir / "prompts").resolve()
        self.spool_dir = (spool_dir or self.shared_dir / "spool").resolve()
        self.binds = [Path(p).resolve() for p in binds]
        # Extra config files {name: text with @NAME@ placeholders}, written last.
        self.overrides = dict(overrides or {})
        self.root = root or DEFAULT_ROOT
        # the PBX_ID global (calls are "<pbx id>/<unique id>"); "" = Asterisk's ENTITYID
        self.pbx_id = pbx_id
        self.conf_dir = self.workdir / "etc"
        self.sim_dir = self.workdir / "sim"
        self.log_dir = self.workdir / "var" / "log"
        self.ami_user = "hotline-test"
        self.ami_secret = secrets.token_hex(12)
        # The operator endpoint of asterisk-conf/test/pjsip-operators.conf (a WebRTC softphone).
        self.operator = OPERATOR
        self.operator_password = secrets.token_hex(12)
        # Where the HTTP server (ARI, SIP over WebSocket at /ws) listens; another address than
        # 127.0.0.1 only inside a test's own network namespace.
        self.http_address = http_address
        self.sip_port = 0
        self.ami_port = 0
        self.http_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.boot_seconds: float | None = None
        self.stop_seconds: float | None = None

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> Asterisk:
        self.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, attempts: int = 3) -> None:
        ensure_root(self.root)
        for attempt in range(attempts):
            self._pick_ports()
            self._write_config()
            began = time.monotonic()
            self._launch()
            try:
                self._wait_booted()
            except AsteriskError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                continue
            if udp_port_taken(self.sip_port) and self._ami_answers():
                self.boot_seconds = time.monotonic() - began
                return
            self.stop()  # a concurrent process took one of our ports in between: new ports
        raise AsteriskError(f"could not bind the SIP/AMI ports:\n{self.output_tail()}")

    def _ami_answers(self) -> bool:
        """Our own AMI (our random secret) answers on our port — not a stranger's server."""
        try:
            with self.ami_session(timeout=5) as session:
                return session.action({"Action": "Ping"})[0].get("Response") == "Success"
        except (OSError, AmiError):
            return False

    def _pick_ports(self) -> None:
        self.sip_port = free_udp_port()
        self.ami_port = free_port()
        self.http_port = free_port()
        # Never port 10080: browsers refuse media to it (a WebRTC call would have no audio).
        self.rtp_start = random.randrange(20000, 39000, 2)

    def config_values(self) -> dict[str, str]:
        return {
            "WORKDIR": str(self.workdir),
            "SIP_PORT": str(self.sip_port),
            "AMI_PORT": str(self.ami_port),
            "HTTP_ADDRESS": self.http_address,
            "HTTP_PORT": str(self.http_port),
            "RTP_START": str(self.rtp_start),
            "RTP_END": str(self.rtp_start + 400),
            "AMI_USER": self.ami_user,
            "AMI_SECRET": self.ami_secret,
            "AGI_PORT": str(self.agi_port),
            "AGI_SECRET": self.agi_secret,
            "AGI_BACKUP": self.agi_backup,
            "AUDIOSOCKET_PORT": str(self.audiosocket_port),
            "PROMPTS": str(self.prompts_dir),
            "SPOOL": str(self.spool_dir),
            "SIM_DIR": str(self.sim_dir),
            "PBX_ID": self.pbx_id,
            "OPERATOR_PASSWORD": self.operator_password,
            "OPERATOR_HA1": sip_digest.ha1(self.operator, self.operator_password),
        }

    def _write_config(self) -> None:
        shutil.rmtree(self.conf_dir, ignore_errors=True)
        self.conf_dir.mkdir(parents=True)
        for src in CONF_DIR.glob("*.conf"):
            shutil.copyfile(src, self.conf_dir / src.name)
        values = self.config_values()
        for src in TEST_CONF_DIR.glob("*.conf"):
            (self.conf_dir / src.name).write_text(render(src.read_text(), values))
        for name, text in self.overrides.items():
            if "/" in name or not name.endswith(".conf"):
                raise ValueError(f"override must be a plain .conf name: {name!r}")
            (self.conf_dir / name).write_text(render(text, values))
        for sub in ("var/lib", "var/spool", "var/run", "var/log", "var/cache"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for folder in (self.sim_dir, self.spool_dir, self.shared_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def _mounts(self) -> list[tuple[Path, bool]]:
        """Host folders to show at the same path inside the root: (path, read_only)."""
        wanted = [(self.workdir, False), (self.shared_dir, False), (self.spool_dir, False)]
        if self.prompts_dir.is_dir():
            wanted.append((self.prompts_dir, True))
        wanted += [(p, True) for p in self.binds]
        chosen: list[tuple[Path, bool]] = []
        for path, ro in sorted(wanted, key=lambda item: len(item[0].parts)):
            if any(path == c or path.is_relative_to(c) for c, _ in chosen):
                continue
            chosen.append((path, ro))
        return chosen

    def _launch(self) -> None:
        root = str(self.root)
        lines = [
            "set -eu",
            f"R={shlex.quote(root)}",
            'mount --bind "$R" "$R"',
            'mount -o remount,bind,ro "$R"',
            'mount -t proc proc "$R/proc"',
            'mount -t tmpfs -o mode=1777,size=256m tmpfs "$R/tmp"',
            f'mount --bind {shlex.quote(str(self.conf_dir))} "$R{CONFIG_MOUNT}"',
            f'mount -o remount,bind,ro "$R{CONFIG_MOUNT}"',
        ]
        (self.root / CONFIG_MOUNT.lstrip("/")).mkdir(exist_ok=True)
        for path, ro in self._mounts():
            target = f'"$R"{shlex.quote(str(path))}'
            if path.is_relative_to("/tmp"):
                lines.append(f"mkdir -p {target}")
            else:  # created on the host (the root is read-only inside); left as empty folders
                (self.root / str(path).lstrip("/")).mkdir(parents=True, exist_ok=True)
            lines.append(f"mount --bind {shlex.quote(str(path))} {target}")
            if ro:
                lines.append(f"mount -o remount,bind,ro {target}")
        lines.append(f'exec chroot "$R" {ASTERISK} -C {CONFIG_MOUNT}/asterisk.conf -f -n')
        with open(self.workdir / "asterisk.out", "ab") as out:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--",
                 "/bin/sh", "-c", "\n".join(lines)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )

    def _wait_booted(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise AsteriskError(f"asterisk exited during start-up:\n{self.output_tail()}")
            try:
                left = max(1.0, deadline - time.monotonic())
                done = self._rx("core waitfullybooted", timeout=left)
            except subprocess.TimeoutExpired:
                break
            if done.returncode == 0 and "fully booted" in done.stdout:
                return
            time.sleep(0.05)
        raise AsteriskError(f"asterisk did not boot within {timeout}s:\n{self.output_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """``core stop now``, wait on the PID; TERM then KILL if it does not exit."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        began = time.monotonic()
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self._rx("core stop now", timeout=5, pid=proc.pid)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        proc.wait(5)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        self.stop_seconds = time.monotonic() - began

    # ---------------------------------------------------------------- control

    def _rx(self, command: str, *, timeout: float = 10.0,
            pid: int | None = None) -> subprocess.CompletedProcess[str]:
        target = pid or self.pid
        if target is None:
            raise AsteriskError("asterisk is not running")
        return subprocess.run(
            ["nsenter", f"--target={target}", "--mount", "--root", "--wd=/",
             ASTERISK, "-C", f"{CONFIG_MOUNT}/asterisk.conf", "-rx", command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command (``asterisk -rx``) and return its output."""
        done = self._rx(command, timeout=timeout)
        if done.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r} failed: {done.stderr.strip()}")
        return done.stdout

    def ami_session(self, *, events: bool = False, timeout: float = 10.0) -> Ami:
        """A logged-in AMI connection (close it, or use it as a context manager)."""
        return Ami("127.0.0.1", self.ami_port, self.ami_user, self.ami_secret,
                   events=events, timeout=timeout)

    def ami(self, action: Mapping[str, str | Sequence[str]]) -> list[Message]:
        """One AMI action on a fresh connection: the response, then its list events."""
        with self.ami_session() as session:
            return session.action(action)

    def output_tail(self, lines: int = 40) -> str:
        texts = []
        for path in (self.workdir / "asterisk.out", self.log_dir / "messages.log"):
            if path.exists():
                texts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)

    def messages_log(self) -> str:
        path = self.log_dir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---------------------------------------------------------------- calls

    def call_local(self, *, caller_id: str = "13800138000",
                   script: Sequence[tuple[str, str]] = (), hear: Path | None = None,
                   timeout: float = 60.0, exten: str = "96010",
                   caller_name: str = "") -> CallResult:
        """Call ``exten`` through the production dialplan (``Local/EXTEN@ivr-test`` →
        ``from-carrier``) from a simulated caller running ``script``; block until both legs
        have hung up. ``hear`` (a .wav path visible inside the root, e.g. under the work or
        shared folder) receives what the caller heard. ``caller_id=""`` calls anonymously.
        """
        steps = []
        for op, arg in script:
            if op not in SCRIPT_OPS or any(c in arg for c in "^\r\n"):
                raise ValueError(f"bad script step {(op, arg)!r}")
            steps.append(f"{op}:{arg}")
        token = uuid.uuid4().hex[:12]
        result = self.sim_dir / f"call-{token}.txt"
        variables = [f"SIM_SCRIPT={'^'.join(steps)}", f"__SIM_RESULT={result}"]
        if hear is not None:
            hear = hear.resolve()
            if not any(hear.is_relative_to(path) for path, _ in self._mounts()):
                raise ValueError(f"{hear} is not visible inside the root: put it under the "
                                 "work folder or the shared folder")
            hear.parent.mkdir(parents=True, exist_ok=True)
            variables.append(f"SIM_HEAR={hear}")
        callerid = f'"{caller_name}" <{caller_id}>' if caller_id else '"anonymous" <anonymous>'
        deadline = time.monotonic() + timeout
        with self.ami_session(events=True, timeout=timeout) as session:
            action_id = session.send({
                # an ActionID unique across sessions: every session sees every OriginateResponse
                "Action": "Originate", "ActionID": f"originate-{token}",
                "Channel": f"Local/{exten}@ivr-test/n",
                "Context": "caller-sim", "Exten": "s", "Priority": "1", "Async": "true",
                "Timeout": str(int(timeout * 1000)), "CallerID": callerid,
                "Variable": variables,
            })
            response = session.wait_event(
                lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == action_id,
                timeout=timeout,
            )
        answered = response.get("Response") == "Success"
        ivr = Path(str(result))
        caller = Path(f"{result}.caller")
        # Not answered: the IVR leg may still have run (and hung up) or never existed.
        end = deadline if answered else min(deadline, time.monotonic() + 5.0)
        while True:
            ivr_done = read_kv(ivr).get("done") == "1"
            caller_done = not answered or read_kv(caller).get("done") == "1"
            hear_done = hear is None or not answered or wav_complete(hear)
            if ivr_done and caller_done and hear_done:
                break
            if time.monotonic() > end:
                if not answered:
                    break
                raise TimeoutError(f"call did not end within {timeout}s:\n{self.output_tail()}")
            time.sleep(0.05)
        values = read_kv(ivr)
        return CallResult(
            answered=answered,
            unique_id=values.get("unique_id") or None,
            hangup_cause=_cause(values.get("hangupcause")),
            caller_hangup_cause=_cause(read_kv(caller).get("hangupcause")),
            vars=values,
            hear=hear if hear is not None and hear.exists() else None,
            pbx=self.pbx_id,
        )

    def operator_calls(self) -> list[dict[str, str]]:
        """One entry per call the simulated operator answered: ticket_id, unique_id, channel."""
        path = self.sim_dir / "operator.log"
        if not path.exists():
            return []
        calls = []
        for line in path.read_text(errors="replace").splitlines():
            entry = {}
            for part in line.split():
                key, sep, value = part.partition("=")
                if sep:
                    entry[key] = value
            calls.append(entry)
        return calls

    def spool_entries(self) -> list[Path]:
        """Sidecars (.txt) currently in the fallback spool."""
        return sorted(self.spool_dir.glob("*.txt"))
