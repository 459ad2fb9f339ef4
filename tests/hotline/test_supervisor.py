"""``hotline run`` as a user runs it: a real subprocess with its private Redis, HTTP, relay and
worker; intake to dispatch, restart of a killed child, clean stop, no orphans after SIGKILL."""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hotline.gateway import Gateway, children_of, marked_pids, start_gateway
from tests.support.services import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path)
    yield gw
    gw.stop()


def submit(gw: Gateway, token: str, ref: str) -> str:
    response = httpx.post(
        f"{gw.url}/api/v1/intake",
        json={"channel_ref": ref, "text": "测试", "kind": "help"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id


def feed_status(gw: Gateway, token: str, ticket_id: str) -> str | None:
    response = httpx.get(
        f"{gw.url}/api/v1/tickets", params={"after": 0},
        headers={"Authorization": f"Bearer {token}"}, timeout=120,
    )
    assert response.status_code == 200, response.text
    for ticket in response.json()["tickets"]:
        if ticket["id"] == ticket_id:
            status: str = ticket["status"]
            return status
    return None


def alive(pid: int) -> bool:
    """True for a running process; a zombie or a missing pid is not alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_intake_is_dispatched_and_sigterm_stops_everything(gateway: Gateway) -> None:
    wait_until(lambda: f"| ready: {gateway.url}/" in gateway.output(), timeout=30)
    token = gateway.api_key()
    ticket_id = submit(gateway, token, "t1")
    assert feed_status(gateway, token, ticket_id) is not None  # in the feed at once
    wait_until(lambda: feed_status(gateway, token, ticket_id) == "registered", timeout=60)

    children = children_of(gateway.proc.pid)
    commands = " | ".join(children.values())
    assert "redis-server" in commands and "serve" in commands
    assert "relay" in commands and "worker" in commands
    # every part, always: no optional ones
    assert " agi" in commands and "spool ingest --watch" in commands
    assert gateway.redis_socket.is_socket()
    assert gateway.redis_socket.parent.stat().st_mode & 0o777 == 0o700

    gateway.proc.send_signal(signal.SIGTERM)
    assert gateway.proc.wait(60) == 0, gateway.output()

    assert not [pid for pid in children if alive(pid)], gateway.output()
    assert marked_pids(gateway.env) == set()
    assert not gateway.redis_socket.exists()
    out = gateway.output()
    assert "redis stopped" in out and "all stopped" in out
    # Redis goes last: every other program was reported stopped before it.
    assert out.index("stopping redis") > max(
        out.index(f"{name} stopped (") for name in ("http", "relay", "worker-1", "agi", "spool")
    )


def test_a_killed_worker_is_restarted_and_keeps_dispatching(gateway: Gateway) -> None:
    token = gateway.api_key()
    first = gateway.child_named("worker")
    os.kill(first, signal.SIGKILL)

    def replaced() -> bool:
        try:
            return gateway.child_named("worker") != first
        except AssertionError:
            return False  # between death and restart

    wait_until(replaced, timeout=60)
    assert "worker-1 stopped: killed by SIGKILL" in gateway.output()

    ticket_id = submit(gateway, token, "after-restart")
    wait_until(lambda: feed_status(gateway, token, ticket_id) == "registered", timeout=60)


def test_sigkill_of_the_supervisor_leaves_no_orphans(gateway: Gateway) -> None:
    children = children_of(gateway.proc.pid)
    assert len(children) >= 6, children  # redis, http, relay, worker, agi, spool
    gateway.proc.send_signal(signal.SIGKILL)
    gateway.proc.wait(10)

    wait_until(lambda: not [pid for pid in children if alive(pid)], timeout=60)
    assert marked_pids(gateway.env) == set()
    # Redis got SIGTERM from the kernel (parent-death signal) and removed its socket.
    assert not gateway.redis_socket.exists()
    # The data dir lock died with the supervisor: a new `hotline run` may start at once.
    with (Path(gateway.env["HOTLINE_DATA_DIR"]) / "run.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
