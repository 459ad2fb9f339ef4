"""Child processes: own session, parent-death signal, descendants, prefixed output."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.childproc import LinePrinter, descendants, kill_all, pump, spawn
from hotline.redis_private import PrivateRedis
from hotline.supervisor import Supervisor
from tests.support.services import wait_until

REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_spawned_child_leads_its_own_session() -> None:
    proc = spawn(["sleep", "30"], os.environ)
    try:
        assert os.getsid(proc.pid) == proc.pid
        assert os.getpgid(proc.pid) == proc.pid
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")
def test_child_dies_with_its_parent_even_on_sigkill() -> None:
    # An intermediate parent spawns a child through spawn() and is then SIGKILLed: the kernel
    # must send the child its parent-death signal.
    script = (
        "import os, sys, time\n"
        "from hotline.childproc import spawn\n"
        "p = spawn(['sleep', '300'], os.environ)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()
        parent.wait()
        wait_until(lambda: not alive(child), timeout=20)
    finally:
        kill_all([child])
        parent.stdout.close()


def test_descendants_include_grandchildren_in_other_sessions() -> None:
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    grandchild = int(parent.stdout.readline())
    try:
        assert descendants(parent.pid) == [grandchild]
        assert parent.pid in descendants(os.getpid())
        kill_all(descendants(parent.pid))
        wait_until(lambda: not alive(grandchild), timeout=20)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_output_lines_are_prefixed_with_the_program_name() -> None:
    out = io.StringIO()
    printer = LinePrinter(out, width=6)
    stream = io.BytesIO(b"first line\n" + "zweite 第二\r\n".encode() + b"\xff no newline")
    pump(stream, "w-1", printer).join(5)
    assert stream.closed
    assert out.getvalue().splitlines() == [
        "w-1    | first line",
        "w-1    | zweite 第二",
        "w-1    | \ufffd no newline",
    ]



def test_a_child_can_start_with_its_own_umask(tmp_path: Path) -> None:
    """The private Redis starts with umask 077: its append-only files are private."""
    old = os.umask(0o022)
    try:
        for name, umask in (("private", 0o077), ("inherited", None)):
            proc = spawn(["touch", str(tmp_path / name)], os.environ, umask=umask)
            assert proc.wait(10) == 0
            assert proc.stdout is not None
            proc.stdout.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "inherited").stat().st_mode) == 0o644
    printer = LinePrinter(io.StringIO())
    supervisor = Supervisor([], env=os.environ, printer=printer,
                            redis=PrivateRedis(tmp_path / "redis" / "redis.sock"))
    assert supervisor.redis_child is not None and supervisor.redis_child.program.umask == 0o077
