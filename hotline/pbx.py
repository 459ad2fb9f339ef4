"""The local PBX of ``make run``: the same Asterisk 22 root the tests use
(``scripts/asterisk-root.sh``, cached in ``/var/cache/hotline-96010/asterisk-root``), started
with ``asterisk-conf/`` rendered for this machine (:mod:`hotline.pbx_config`).

Asterisk runs in a private mount namespace (``unshare --mount``): the shared root is
bind-mounted over itself read-only, ``/proc`` and a private ``/tmp`` are mounted, the rendered
config appears at ``/etc/asterisk-hotline`` (read-only), and the gateway's folders it shares
(data dir, prompts, spool, recordings, the operators' endpoints) appear at the SAME paths, so a
``RECORD FILE`` path names one file for both. Everything Asterisk writes stays under
``<data dir>/asterisk/var``. When Asterisk exits, the namespace and its mounts go with it.
Needs root (namespaces, chroot); :func:`problem` says in one line why it cannot start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from hotline.pbx_config import MOUNT, Local, render
from hotline.settings import Settings
from ivr.prompts.catalog import default_prompts_dir

ASTERISK = "/usr/sbin/asterisk"
STAMP = ".hotline-asterisk-version"
DEV_NODES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
             "urandom": (1, 9), "tty": (5, 0)}
PR_SET_PDEATHSIG = 1


class PbxError(RuntimeError):
    pass


def local(settings: Settings) -> Local:
    """This machine's values for :func:`hotline.pbx_config.render`."""
    if settings.ami_username is None or settings.ami_secret is None:
        raise PbxError("the PBX needs HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET "
                       "(run: hotline dev-setup)")
    data = settings.data_dir.resolve()
    return Local(state_dir=data / "asterisk" / "var",
                 prompts=default_prompts_dir(settings.prompts_dir, settings.data_dir),
                 spool=settings.spool_path.resolve(),
                 operators=settings.pjsip_operators_path.resolve(),
                 ami_user=settings.ami_username, ami_secret=settings.ami_secret.get_secret_value(),
                 ami_port=settings.ami_port, agi_host=settings.agi_host,
                 agi_port=settings.agi_port, sip_port=settings.pbx_sip_port,
                 http_port=settings.pbx_http_port)


def version(root: Path) -> str | None:
    """``asterisk -V`` recorded when the root was built, or None."""
    try:
        return (root / STAMP).read_text(encoding="utf-8").splitlines()[0].strip() or None
    except (OSError, IndexError):
        return None


def problem(settings: Settings) -> str | None:
    """Why the PBX cannot start here (one line naming the fix), or None."""
    root = settings.asterisk_root
    if os.geteuid() != 0:
        return "the PBX needs root (a mount namespace and chroot); run make run as root"
    missing = [tool for tool in ("unshare", "nsenter", "chroot") if shutil.which(tool) is None]
    if missing:
        return f"the PBX needs {', '.join(missing)} (util-linux, coreutils)"
    built = version(root)
    if not (root / "usr/sbin/asterisk").exists() or built is None:
        return (f"no Asterisk root at {root}: build it with scripts/asterisk-root.sh "
                "(make asterisk-root; docs/asterisk.md)")
    if not built.startswith("Asterisk 22."):
        return f"{root} holds {built}, not Asterisk 22: rebuild it with scripts/asterisk-root.sh"
    if settings.ami_username is None or settings.ami_secret is None:
        return "set HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET (run: hotline dev-setup)"
    return None


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _prepare_root(root: Path) -> None:
    dev = root / "dev"
    for name, (major, minor) in DEV_NODES.items():
        node = dev / name
        if not node.exists():
            os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(node, 0o666)  # noqa: S103 - device nodes null, zero, random: world-usable
    if not (dev / "fd").exists():
        (dev / "fd").symlink_to("/proc/self/fd")
    (dev / "pts").mkdir(exist_ok=True)
    (root / MOUNT.lstrip("/")).mkdir(exist_ok=True)


def mounts(wanted: Sequence[tuple[Path, bool]]) -> list[tuple[Path, bool]]:
    """The folders to show inside the root, outermost first, without ones already inside
    another (a read-write parent wins over a read-only child)."""
    chosen: list[tuple[Path, bool]] = []
    for path, ro in sorted(wanted, key=lambda item: len(item[0].parts)):
        if not any(path == c or path.is_relative_to(c) for c, _ in chosen):
            chosen.append((path, ro))
    return chosen


class Pbx:
    """One Asterisk for this machine; :meth:`start`, :meth:`wait_booted`, :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.asterisk_root
        self.local = local(settings)
        self.conf_dir = settings.data_dir.resolve() / "asterisk" / "etc"
        self.output = self.local.state_dir / "log" / "asterisk.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def script(self) -> str:
        data = self.settings.data_dir.resolve()
        wanted = [(data, False), (self.local.spool, False),
                  (self.settings.recordings_path.resolve(), False),
                  (self.local.operators.parent, False), (self.local.prompts, True)]
        lines = ["set -eu", f"R={shlex.quote(str(self.root))}",
                 'mount --bind "$R" "$R"', 'mount -o remount,bind,ro "$R"',
                 'mount -t proc proc "$R/proc"',
                 'mount -t tmpfs -o mode=1777,size=256m tmpfs "$R/tmp"',
                 f'mount --bind {shlex.quote(str(self.conf_dir))} "$R{MOUNT}"',
                 f'mount -o remount,bind,ro "$R{MOUNT}"']
        for path, ro in mounts(wanted):
            path.mkdir(parents=True, exist_ok=True)
            target = f'"$R"{shlex.quote(str(path))}'
            if path.is_relative_to("/tmp"):  # noqa: S108 - a private tmpfs inside the root
                lines.append(f"mkdir -p {target}")
            else:  # an empty mount point in the shared root, as the tests' harness leaves
                (self.root / str(path).lstrip("/")).mkdir(parents=True, exist_ok=True)
            lines.append(f"mount --bind {shlex.quote(str(path))} {target}")
            if ro:
                lines.append(f"mount -o remount,bind,ro {target}")
        lines.append(f'exec chroot "$R" {ASTERISK} -C {MOUNT}/asterisk.conf -f -n')
        return "\n".join(lines)

    def start(self) -> None:
        render(self.local, self.conf_dir)
        _prepare_root(self.root)
        script = self.script()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                 script], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent)

    def rx(self, command: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """``asterisk -rx COMMAND`` inside the PBX's namespace."""
        if self.proc is None:
            raise PbxError("the PBX is not running")
        return subprocess.run(
            ["nsenter", f"--target={self.proc.pid}", "--mount", "--root", "--wd=/", ASTERISK,
             "-C", f"{MOUNT}/asterisk.conf", "-rx", command],
            capture_output=True, text=True, timeout=timeout, check=False)

    def wait_booted(self, timeout: float = 60.0) -> float:
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.proc is None or self.proc.poll() is not None:
                raise PbxError(f"Asterisk exited at start-up:\n{self.tail()}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                done = self.rx("core waitfullybooted", timeout=5)
                if done.returncode == 0 and "fully booted" in done.stdout:
                    return time.monotonic() - began
            time.sleep(0.1)
        raise PbxError(f"Asterisk did not boot within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        self.proc = proc
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self.rx("core stop now", timeout=5)
        self.proc = None
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
