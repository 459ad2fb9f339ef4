"""The supervisor loop in-process with small stand-in programs: restarts with backoff, the
grace period, killing a stubborn child with its descendants, Redis started first, stopped last."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.childproc import LinePrinter
from hotline.redis_private import PrivateRedis
from hotline.supervisor import Backoff, Program, Supervisor, describe_exit
from tests.support.services import wait_until


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def stop_when(condition: Callable[[], bool]) -> threading.Thread:
    """SIGTERM this process (the supervisor under test) once ``condition`` holds, or after a
    minute anyway, so that a failing test ends (on its assertions) instead of hanging."""

    def run() -> None:
        with contextlib.suppress(TimeoutError):
            wait_until(condition, timeout=60)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(first=0.5, cap=4.0, stable_after=30.0)
    assert [backoff.delay(1.0) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.delay(31.0) == 0.5
    assert backoff.delay(0.1) == 1.0


def test_describe_exit() -> None:
    assert describe_exit(0) == "exit status 0"
    assert describe_exit(3) == "exit status 3"
    assert describe_exit(-9) == "killed by SIGKILL"


def test_a_dying_program_is_restarted_with_growing_delays() -> None:
    out = io.StringIO()
    sup = Supervisor(
        [Program("flaky", python("print('up', flush=True); raise SystemExit(3)"), grace=5)],
        env=os.environ, printer=LinePrinter(out),
    )
    stop_when(lambda: out.getvalue().count("flaky stopped: exit status 3") >= 3)
    assert sup.run() == 0
    text = out.getvalue()
    delays = re.findall(r"flaky stopped: exit status 3 after [\d.]+s; restarting in ([\d.]+)s",
                        text)
    assert delays[:3] == ["0.5", "1.0", "2.0"], text
    assert "started flaky, pid" in text and "(restart 2)" in text
    assert "flaky      | up" in text


def test_what_a_dead_program_left_in_its_process_group_is_killed(tmp_path: Path) -> None:
    """A worker killed with SIGKILL leaves RQ's scheduler (its child, same process group)
    behind, holding copies of the worker's Redis sockets: the supervisor kills the group."""
    out = io.StringIO()
    leader = python(
        "import subprocess, time\n"
        "p = subprocess.Popen(['sleep', '300'])\n"  # same process group, no parent-death signal
        "print('left', p.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    sup = Supervisor([Program("leader", leader, grace=5)], env=os.environ,
                     printer=LinePrinter(out))
    found: list[int] = []

    def kill_the_leader() -> bool:
        if not found:
            match = re.search(r"started leader, pid (\d+)", out.getvalue())
            left = re.search(r"left (\d+)", out.getvalue())
            if match is None or left is None:
                return False
            found.append(int(left.group(1)))
            os.kill(int(match.group(1)), signal.SIGKILL)
        return "leader stopped: killed by SIGKILL" in out.getvalue() and not alive(found[0])

    stop_when(kill_the_leader)
    assert sup.run() == 0
    text = out.getvalue()
    assert found and not alive(found[0]), text
    assert "leader stopped: killed by SIGKILL" in text, text


def record_term(log: Path) -> str:
    """Child code: a SIGTERM handler that appends ``TERM`` to ``log`` (a SIGKILL leaves no
    trace, so the file shows whether the child got, and survived to handle, a SIGTERM)."""
    return (
        "import pathlib, signal, sys, time\n"
        f"log = pathlib.Path({str(log)!r})\n"
        "def record():\n"
        "    with log.open('a') as f:\n"
        "        f.write('TERM\\n')\n"
    )


def test_a_program_ignoring_sigterm_is_killed_with_its_descendants_after_the_grace(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    log = tmp_path / "stubborn.signals"
    stubborn = python(
        record_term(log)
        + "import subprocess\n"
        "signal.signal(signal.SIGTERM, lambda *_: record())\n"
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print('grandchild', p.pid, flush=True)\n"
        "while True:\n"
        "    time.sleep(300)\n"
    )
    polite = python("import time\ntime.sleep(300)")
    sup = Supervisor(
        [Program("stubborn", stubborn, grace=2.0), Program("polite", polite, grace=2.0)],
        env=os.environ, printer=LinePrinter(out),
    )
    stop_when(lambda: "grandchild" in out.getvalue())
    assert sup.run() == 0
    text = out.getvalue()
    # SIGTERM first: the child lived to record it; SIGKILL next, once the grace ran out.
    assert log.read_text() == "TERM\n", text
    grandchild = int(re.search(r"grandchild (\d+)", text).group(1))  # type: ignore[union-attr]
    pids = [int(p) for p in re.findall(r"started \w+, pid (\d+)", text)]
    stopping = text.index("stopping stubborn")
    killing = text.index("stubborn did not stop in time: killing it")
    killed = text.index("stubborn stopped (killed by SIGKILL)")
    assert stopping < killing < killed, text
    assert "polite stopped (killed by SIGTERM)" in text
    wait_until(lambda: not alive(grandchild), timeout=10)
    assert not [p for p in pids if alive(p)]


def test_a_program_slow_to_stop_is_given_the_grace_and_not_killed(tmp_path: Path) -> None:
    """The child handles SIGTERM but exits only once the test, having seen the SIGTERM
    arrive, lets it: a supervisor that killed before the grace ran out would SIGKILL it."""
    out = io.StringIO()
    log, go = tmp_path / "slow.signals", tmp_path / "slow.go"
    slow = python(
        record_term(log)
        + f"go = pathlib.Path({str(go)!r})\n"
        "def term(*_):\n"
        "    record()\n"
        "    while not go.exists():\n"
        "        time.sleep(0.05)\n"
        "    print('clean exit', flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(300)\n"
    )
    sup = Supervisor([Program("slow", slow, grace=60.0)], env=os.environ,
                     printer=LinePrinter(out))
    stop_when(lambda: "ready" in out.getvalue())

    def let_it_go() -> None:
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: log.exists() and "TERM" in log.read_text(), timeout=60)
        go.touch()

    threading.Thread(target=let_it_go, daemon=True).start()
    assert sup.run() == 0
    text = out.getvalue()
    assert log.read_text() == "TERM\n", text
    assert "slow       | clean exit" in text, text
    assert "slow stopped (exit status 0)" in text, text
    assert "did not stop in time" not in text, text


def test_each_program_is_killed_after_its_own_grace(tmp_path: Path) -> None:
    """A stubborn child (short grace) is killed while a patient one (long grace) is still
    finishing: the patient one is let go only once the stubborn one was killed, so a shared
    grace — the shortest or the longest — fails this test."""
    out = io.StringIO()
    stubborn_log, patient_log = tmp_path / "stubborn.signals", tmp_path / "patient.signals"
    go = tmp_path / "patient.go"
    stubborn = python(
        record_term(stubborn_log)
        + "signal.signal(signal.SIGTERM, lambda *_: record())\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(300)\n"
    )
    patient = python(
        record_term(patient_log)
        + f"go = pathlib.Path({str(go)!r})\n"
        "def term(*_):\n"
        "    record()\n"
        "    while not go.exists():\n"
        "        time.sleep(0.05)\n"
        "    print('clean exit', flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(300)\n"
    )
    # the patient one first: a kill in list order would hit it first
    sup = Supervisor([Program("patient", patient, grace=30.0),
                      Program("stubborn", stubborn, grace=1.0)],
                     env=os.environ, printer=LinePrinter(out))
    stop_when(lambda: out.getvalue().count("| ready") == 2)

    def let_it_go() -> None:
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: "stubborn did not stop in time" in out.getvalue(), timeout=60)
        go.touch()

    threading.Thread(target=let_it_go, daemon=True).start()
    assert sup.run() == 0
    text = out.getvalue()
    assert stubborn_log.read_text() == "TERM\n", text
    assert patient_log.read_text() == "TERM\n", text
    assert text.index("stubborn did not stop in time: killing it") < text.index(
        "patient    | clean exit"), text
    assert "stubborn stopped (killed by SIGKILL)" in text, text
    assert "patient stopped (exit status 0)" in text, text
    assert "patient did not stop in time" not in text, text


def test_a_second_stop_signal_kills_at_once_whatever_the_grace(tmp_path: Path) -> None:
    out = io.StringIO()
    log = tmp_path / "deaf.signals"
    deaf = python(
        record_term(log)
        + "signal.signal(signal.SIGTERM, lambda *_: record())\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(300)\n"
    )
    sup = Supervisor([Program("deaf", deaf, grace=600.0)], env=os.environ,
                     printer=LinePrinter(out))
    stop_when(lambda: "ready" in out.getvalue())
    # the second SIGTERM once the child has had its first one
    stop_when(lambda: log.exists() and "TERM" in log.read_text())
    assert sup.run() == 0
    text = out.getvalue()
    assert log.read_text() == "TERM\n", text
    assert "SIGTERM received again: killing what is left" in text, text
    assert text.index("stopping deaf") < text.index("deaf did not stop in time") < text.index(
        "deaf stopped (killed by SIGKILL)"), text


@pytest.mark.integration
def test_private_redis_comes_first_and_goes_last(tmp_path: Path) -> None:
    out = io.StringIO()
    redis = PrivateRedis(tmp_path / "var" / "redis" / "redis.sock")
    # The program needs Redis at start and keeps using it until it is told to stop.
    uses_redis = python(
        "import signal, sys, redis\n"
        f"r = redis.Redis(unix_socket_path={str(redis.socket)!r})\n"
        "print('ping', r.ping(), flush=True)\n"
        "def bye(*_):\n"
        "    print('bye ping', r.ping(), flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "signal.pause()\n"
    )
    sup = Supervisor([Program("client", uses_redis, grace=10)], env=os.environ,
                     printer=LinePrinter(out), redis=redis)
    stop_when(lambda: "ping True" in out.getvalue())
    assert sup.run() == 0
    text = out.getvalue()
    assert "bye ping True" in text, text
    assert text.index("client stopped") < text.index("stopping redis")
    assert (tmp_path / "var" / "redis").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "var" / "redis" / "appendonlydir").is_dir()
    assert not redis.socket.exists()
