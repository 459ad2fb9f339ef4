"""One chaos run: services and gateway processes up, the driver process started, the fault
schedule applied while it drives, then the system left to settle, read, and audited."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chaos import audit, calls_audit, state
from bench.chaos.cluster import PROGRAMS, SERVES, Cluster
from bench.chaos.drive import DriveConfig
from bench.chaos.ivr import AGIS, Ivr
from bench.chaos.receivers import Receivers, receivers
from bench.chaos.schedule import KILL_AGI, Fault, Schedule
from bench.chaos.secrets import fresh

# A job a worker dequeued and died holding before RQ registered it (BLPOP over several queues
# has no intermediate list) is found by router.sweep after STUCK_AFTER (10 min): settling
# waits that long without progress, and a little more, before it gives up.
SETTLE_TIMEOUT = 720.0


def _ops(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _sent_to(rx: Receivers) -> list[str]:
    found = [m.form.get("To", [""])[0] for m in rx.twilio.messages()]
    for m in rx.wechat.sent():
        if isinstance(m.body, dict):
            found.append(str(m.body.get("touser", "")))
    return found


def run(root: Path, *, count: int, concurrency: int, max_seconds: float, faults: list[Fault],
        repeat: bool, argv: str = "", settle_timeout: float = SETTLE_TIMEOUT, calls: int = 0,
        call_concurrency: int = 3) -> dict[str, Any]:
    """Run, audit and return the result document (bench/results/chaos.json's shape).
    ``calls`` > 0: that many SIPp callers through the IVR as well (:mod:`bench.chaos.ivr`),
    ``call_concurrency`` at a time."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the postgres user reaches its data directory below
    load = [round(x, 2) for x in os.getloadavg()]
    creds = fresh()
    with receivers(creds.webhook_secret, creds.wechat_app_id, creds.wechat_app_secret) as rx:
        cluster = Cluster(root, creds, rx.webhook.url, rx.twilio.url, rx.wechat.url)
        schedule: Schedule | None = None
        ivr = Ivr(cluster, calls, call_concurrency) if calls else None
        try:
            cluster.start_services()
            creds = cluster.prepare()
            cluster.start_all()
            if ivr is not None:
                ivr.start()
            config = DriveConfig(bases=[cluster.url(n) for n in SERVES], creds=creds,
                                 run=secrets.token_hex(4), count=count,
                                 concurrency=concurrency, max_seconds=max_seconds,
                                 out=root / "ops.jsonl")
            config.dump(root / "drive.json")
            t0 = time.monotonic()
            with open(root / "logs" / "drive.log", "ab") as log:
                driver = subprocess.Popen(
                    [sys.executable, "-m", "bench.chaos.drive", str(root / "drive.json")],
                    stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
            schedule = Schedule(cluster, faults, repeat=repeat,
                                extra={KILL_AGI: ivr.kill_mid_call} if ivr else None)
            schedule.start(t0)
            if ivr is not None:
                ivr.place_calls(t0)
            try:
                driver.wait(max_seconds + 900)
            finally:
                if driver.poll() is None:
                    driver.kill()
                    driver.wait()
                drive_end = time.monotonic()
                if ivr is not None:  # every caller done (SIPp gives up after 180 s)
                    ivr.wait_calls(300 + 240 * calls / max(call_concurrency, 1))
                schedule.finish(max(f.at for f in faults) + 180 if faults else 0)
                schedule.stop_faults()
            drive_seconds = round(drive_end - t0, 1)
            end, settle = state.wait_settled(lambda: state.snapshot(
                cluster.url(SERVES[0]), creds.api_token, cluster.postgres.port,
                cluster.redis.url, Path(cluster.env["HOTLINE_DATA_DIR"]) / "spool",
                ivr.recordings if ivr else None), settle_timeout)
        finally:
            if schedule is not None:
                schedule.stop()
            if ivr is not None:
                ivr.stop()
            cluster.stop()
        ops = _ops(root / "ops.jsonl")
        # the calls have their own audit; the queue checker sees the text channels' tickets
        found = audit.classify(ops, [t for t in end.tickets if t["channel"] != "voice"])
        history = ivr.history() if ivr else {"calls": [], "cuts": []}
        called = calls_audit.check(history["calls"], history["cuts"], end.tickets)
        if calls:
            found.by_channel["ivr"] = called.channel_row()
        with rx.webhook.lock:
            received = [(r.delivery, r.destination, r.ticket_id) for r in rx.webhook.received]
        audit.deliveries(found, end.tickets, received)
        from bench.chaos.channels import Kind, plan
        intakes = {i.index: i for i in plan(count, config.run)}
        phones = {i: x.phone for i, x in intakes.items() if x.kind is Kind.sms}
        openids = {i: x.openid for i, x in intakes.items() if x.kind is Kind.wechat}
        audit.notifications(found, ops, phones, openids, _sent_to(rx))
    assert schedule is not None
    crashed = sorted({e.name.split()[0] for e in schedule.timeline if "by itself" in e.name})
    end_state = {k: v for k, v in asdict(end).items() if k != "tickets"}
    ok = found.valid and called.valid and state.settled(end) and not end.failed_jobs
    return {
        "bench": "chaos",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "argv": argv,
        "load_average_before": load,
        "planned": count,
        "concurrency": concurrency,
        "programs": [*PROGRAMS, *(AGIS if calls else ())],
        "calls_planned": calls,
        "call_concurrency": call_concurrency,
        "drive_seconds": drive_seconds,
        "acknowledged_per_s": round(found.acknowledged / max(drive_seconds, 0.1), 1),
        "settle_seconds": settle,
        "timeline": [asdict(e) for e in schedule.timeline],
        "crashed": crashed,
        "audit": asdict(found),
        "calls": asdict(called),
        "call_history": history,
        "end_state": end_state,
        "valid": ok,
    }
