"""A private Kamailio (Debian's ``kamailio`` package) for tests: kamailio/kamailio.cfg rendered
with its own port, control socket and dispatcher list, run in the foreground until stopped.

    with Kamailio(tmp_path / "kam", [ast_a.sip_port, ast_b.sip_port]) as kam:
        sipp_call(kam.sip_port, ..., proxy=True)
        kam.destinations()  # {"sip:127.0.0.1:PORT": "AP", ...}
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tests.support.asterisk import free_udp_port, render
from tests.support.services import stop_process, wait_until

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "kamailio" / "kamailio.cfg"
DEST = re.compile(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)")


class KamailioError(RuntimeError):
    pass


class Kamailio:
    """Kamailio with the dispatcher module in front of Asterisks on 127.0.0.1 at ``pbx_ports``."""

    def __init__(self, workdir: Path, pbx_ports: Sequence[int], *, ping_interval: int = 1,
                 fr_timer_ms: int = 2000) -> None:
        self.workdir = workdir.resolve()
        self.pbx_ports = list(pbx_ports)
        self.ping_interval = ping_interval
        self.fr_timer_ms = fr_timer_ms
        self.sip_port = 0
        self.ctl = self.workdir / "kamailio_ctl"
        self.log = self.workdir / "kamailio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Kamailio:
        self.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def uri(self, pbx_port: int) -> str:
        return f"sip:127.0.0.1:{pbx_port}"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        listing = self.workdir / "dispatcher.list"
        # setid destination flags priority: one set, every Asterisk alike
        listing.write_text("".join(f"1 {self.uri(p)} 0 0\n" for p in self.pbx_ports))
        config = self.workdir / "kamailio.cfg"
        config.write_text(render(TEMPLATE.read_text(), {
            "LISTEN": f"udp:127.0.0.1:{self.sip_port}",
            "RUN_DIR": str(self.workdir),
            "DISPATCHER_LIST": str(listing),
            "PING_INTERVAL": str(self.ping_interval),
            "FR_TIMER": str(self.fr_timer_ms),
        }))
        return config

    def start(self) -> None:
        exe = shutil.which("kamailio") or "/usr/sbin/kamailio"
        if not Path(exe).exists():
            raise KamailioError("kamailio is not installed (Debian package kamailio; make deps)")
        self.sip_port = free_udp_port()
        config = self._write_config()
        check = subprocess.run([exe, "-c", "-f", str(config)], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise KamailioError(f"kamailio.cfg does not parse:\n{check.stderr[-3000:]}")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [exe, "-f", str(config), "-DD", "-E", "-Y", str(self.workdir),
                 "-w", str(self.workdir)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            wait_until(lambda: self._answers() or self._exited(), timeout=20)
        except TimeoutError:
            self.stop()
            raise KamailioError(f"kamailio did not start:\n{self.log_tail()}") from None
        if self._exited():
            raise KamailioError(f"kamailio exited during start-up:\n{self.log_tail()}")

    def _exited(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def _answers(self) -> bool:
        try:
            return bool(self.destinations())
        except KamailioError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc, 10)

    def rpc(self, *command: str) -> str:
        done = subprocess.run(["kamcmd", "-s", f"unix:{self.ctl}", *command],
                              capture_output=True, text=True, timeout=10, check=False)
        if done.returncode != 0:
            raise KamailioError(f"kamcmd {' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    def destinations(self) -> dict[str, str]:
        """Each dispatcher destination's flags: first letter A(ctive)/I(nactive)/D(isabled),
        second P(robing) or X."""
        return dict(DEST.findall(self.rpc("dispatcher.list")))

    def is_active(self, pbx_port: int) -> bool:
        return self.destinations().get(self.uri(pbx_port), "").startswith("A")

    def wait_state(self, pbx_port: int, active: bool, timeout: float = 60.0) -> float:
        """Wait until the dispatcher sees the Asterisk on ``pbx_port`` up (or down); seconds."""
        began = time.monotonic()
        wait_until(lambda: self.is_active(pbx_port) is active, timeout=timeout, interval=0.1)
        return time.monotonic() - began

    def log_tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def routed(self) -> list[tuple[str, str]]:
        """(call id, destination URI) of every INVITE sent on, in order, failovers included."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return re.findall(r"96010: call (\S+) -> (\S+)", text)
