"""One table of every benchmark's headline figure, its target and whether it was met.

    python -m bench.summary      # (python -m bench runs it after the benchmarks)

Reads bench/results/*.json as the benchmarks left them and writes bench/results/summary.md:
the table, the limits of the same run (baselines.json), where the durable intake's time goes
(from the sampled profiles of bench.durable_intake) and the written analysis
(bench/analysis/durable_intake.md). A benchmark whose results are missing or unreadable is
listed as such, not left out. Targets are issue 22's where it names one, else the benchmark's
own stated goal; figures measured in different runs are never divided by each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ANALYSIS = Path(__file__).parent / "analysis" / "durable_intake.md"

# Where a worker thread's sample of the intake path is, by the first rule whose frame is in its
# stack (bench.sampler's collapsed stacks: ``Func_(dir/file.py:line)``); the order matters.
INTAKE_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("API key check (its own read transaction: checkout, ping, SELECT)",
     ("verify_(tickets/apikeys.py",)),
    ("idempotency read before the write (its own read transaction)", ("Store.find_by_ref_(",)),
    ("write transaction: connection checkout/open/close (pre-ping; SQLite: connect + pragmas)",
     ("Engine.connect_(", "Connection.close_(", "_finalize_fairy_(", "do_ping_(")),
    ("waiting for the seq counter row (row lock, PostgreSQL)", ("next_seq_(",)),
    ("the day-number counter", ("next_number_(",)),
    ("the outbox row", ("write_(tickets/outbox.py",)),
    ("COMMIT (fsync on SQLite)", ("Transaction.commit_(", "_commit_impl_(")),
    ("BEGIN", ("_on_begin_(",)),
    ("building and inserting the ticket row", ("Store._insert_(",)),
)
LOCK_WAIT = "waiting for the process write lock (SQLite)"


def classify(frames: list[str]) -> str:
    for part, needles in INTAKE_PARTS:
        if any(n in f for f in frames for n in needles):
            return part
    if frames and frames[-1].startswith("Database.write_(tickets/db.py"):
        return LOCK_WAIT
    if any("Store.submit_(" in f for f in frames):
        return "other, in the store call"
    return "other (the request's own thread hops, parsing in the pool)"


def _busy_stacks(stacks: Path, kind: str) -> list[tuple[list[str], int]]:
    """The busy samples of one thread kind: (frames as in stacks.txt, count)."""
    from bench.sampler import is_idle

    out = []
    for line in stacks.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        k, *frames = stack.split(";")
        if k.replace("_", " ") == kind and not is_idle(
                [f.replace("_(", " (", 1) for f in frames]):
            out.append((frames, int(count)))
    return out


def worker_breakdown(stacks: Path) -> tuple[int, list[tuple[str, int]]]:
    """Busy worker-thread samples and how many fall in each part of the intake path."""
    parts: dict[str, int] = {}
    busy = 0
    for frames, n in _busy_stacks(stacks, "worker"):
        busy += n
        part = classify(frames)
        parts[part] = parts.get(part, 0) + n
    return busy, sorted(parts.items(), key=lambda kv: -kv[1])


def loop_leaves(stacks: Path) -> tuple[int, list[tuple[str, int]]]:
    """Busy event-loop samples by the function they were in (exclusive)."""
    from bench.sampler import function_of

    leaves: dict[str, int] = {}
    busy = 0
    for frames, n in _busy_stacks(stacks, "event loop"):
        busy += n
        leaf = function_of(frames[-1].replace("_(", " (", 1))
        leaves[leaf] = leaves.get(leaf, 0) + n
    return busy, sorted(leaves.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class Row:
    bench: str
    figure: str
    value: str
    target: str
    status: str  # "met", "MISSED", "no target", "no results"


def _load(out: Path, name: str) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def durable_intake(d: dict[str, Any]) -> list[Row]:
    hello = d["headline"]["hello_rps"]
    rows = [Row("durable_intake", "gateway GET /healthz (no store) as a share of bare ASGI",
                f"{d['headline']['healthz_rps']} req/s = {d['headline']['healthz_ratio']:.1%}",
                "", "no target")] if "healthz_rps" in d["headline"] else []
    for key, x in d["headline"]["intake"].items():
        rows.append(Row("durable_intake", f"{key} req/s as a share of bare ASGI ({hello} req/s)",
                        f"{x['rps']} req/s = {x['ratio']:.1%}", "≥ 50 %",
                        _met(x["ratio_met"])))
        rows.append(Row("durable_intake", f"{key} p99 ack at half load"
                        f" ({x['half_load_rate_per_s']} req/s)", f"{x['half_load_p99_ms']} ms",
                        "≤ 100 ms", _met(x["half_load_p99_met"])))
    return rows


def channels_ack(d: dict[str, Any]) -> list[Row]:
    return [Row("channels_ack", f"{p['name']} ({d['store']}, {p['concurrency']} clients)",
                f"{p['throughput_per_s']} tickets/s, p99 {p['p99_ms']} ms",
                "see durable_intake (ratio)", "no target") for p in d["phases"]]


def webform_ack(d: dict[str, Any]) -> list[Row]:
    return [Row("webform_ack", f"POST /report, {p['name']}",
                f"{p['throughput_per_s']} tickets/s, p99 {p['p99_ms']} ms", "", "no target")
            for p in d["phases"]]


def call_burst(d: dict[str, Any]) -> list[Row]:
    big = max(d["runs"], key=lambda r: r["callers"])
    p95 = big["hash_to_ticket_s"]["p95"]
    rows = [Row("call_burst", f"largest recorded burst: {big['callers']} callers ({big['mode']})",
                f"kept {big['kept']}/{big['callers']}, # → ticket p95 {p95} s",
                "200 callers, all kept, p95 ≤ 2 s",
                _met(big["callers"] >= 200 and big["kept"] == big["callers"] and p95 <= 2))]
    return rows


def agi_sessions(d: dict[str, Any]) -> list[Row]:
    big = max(d["runs"], key=lambda r: r["sessions"])
    return [
        Row("agi_sessions", f"{big['sessions']} FastAGI sessions: command round trip p99",
            f"{big['rtt_ms_p99']} ms (protocol only {big['protocol_rtt_ms_p99']} ms)",
            "1,000 sessions, p99 ≤ 5 ms",
            _met(big["sessions"] >= 1000 and big["rtt_ms_p99"] <= 5)),
        Row("agi_sessions", f"{big['sessions']} FastAGI sessions: peak RSS",
            f"{big['rss_mb_peak']} MB", "≤ 300 MB", _met(big["rss_mb_peak"] <= 300)),
    ]


def console_takeover(d: dict[str, Any]) -> list[Row]:
    ring, partial = d["takeover"]["ringing"], d["load"]["partial"]
    goals = d["goals"]
    return [
        Row("console_takeover", "takeover → operator leg ringing p95", f"{ring['p95_ms']} ms",
            f"≤ {goals['ringing_p95_ms']:g} ms", _met(ring["p95_ms"] <= goals["ringing_p95_ms"])),
        Row("console_takeover", f"partial transcript to the page p95, {d['load']['calls']} calls",
            f"{partial['p95_ms']} ms", f"≤ {goals['partial_p95_ms']:g} ms",
            _met(partial["p95_ms"] <= goals["partial_p95_ms"])),
    ]


def desk_worklist(d: dict[str, Any]) -> list[Row]:
    worst = max(v["p90_ms"] for v in d.values() if isinstance(v, dict) and "p90_ms" in v)
    return [Row("desk_worklist", f"worst worklist query p90 ({d['tickets']:,} tickets)",
                f"{worst} ms", "≤ 300 ms", _met(worst <= 300))]


def photo_burst(d: dict[str, Any]) -> list[Row]:
    rows = []
    for s in d["scenarios"]:
        a = s["answers"]
        rows.append(Row("photo_burst", s["name"],
                        f"{a['accepted']} accepted, {a['refused']} refused, {a['error']} errors;"
                        f" peak {s['memory_mb']['peak_total']} MB", "no errors",
                        _met(a["error"] == 0)))
    return rows


def router(d: dict[str, Any]) -> list[Row]:
    streets, cats = d["streets_held_out"]["accuracy"], d["categories"]["accuracy"]
    return [Row("router", "street accuracy, held-out", f"{streets:.1%}", "≥ 90 %",
                _met(streets >= 0.9)),
            Row("router", "category accuracy, held-out", f"{cats:.1%}", "≥ 85 %",
                _met(cats >= 0.85))]


def transcription(d: dict[str, Any]) -> list[Row]:
    best = max(d["rtf"], key=lambda r: r["aggregate_audio_seconds_per_second"])
    return [Row("transcription", f"recognition, {best['streams']} streams",
                f"{best['aggregate_audio_seconds_per_second']} audio s per s,"
                f" RTF {best['rtf_per_stream_max']}", "", "no target")]


def idle_rss(d: dict[str, Any]) -> list[Row]:
    run = d["runs"][0]  # this checkout (the others are baselines)
    target = d["target_rss_mb"]
    return [Row("idle_rss", f"idle `hotline run`, total RSS / PSS ({run['code']},"
                f" {run['vosk_processes']} process(es) with the speech model)",
                f"{run['total_rss_mb']} / {run['total_pss_mb']} MB", f"≤ {target:g} MB RSS",
                _met(run["total_rss_mb"] <= target))]


def worker_throughput(d: dict[str, Any]) -> list[Row]:
    kinds = d["kinds"]
    keep_up = d.get("chaos_intakes_per_s", 23) / 2  # two workers, the chaos drive's rate
    return [Row("worker_throughput", f"{kind} jobs/s, one worker (empty job "
                f"{kinds['empty']['jobs_per_s']:.0f}/s)", f"{kinds[kind]['jobs_per_s']:.1f}",
                f"≥ {keep_up:g}/s", _met(kinds[kind]["jobs_per_s"] >= keep_up))
            for kind in ("dispatch", "notify sms", "notify wechat") if kind in kinds]


HEADLINES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "durable_intake": durable_intake, "channels_ack": channels_ack, "webform_ack": webform_ack,
    "call_burst": call_burst, "agi_sessions": agi_sessions,
    "console_takeover": console_takeover, "desk_worklist": desk_worklist,
    "photo_burst": photo_burst, "router": router, "transcription": transcription,
    "idle_rss": idle_rss, "worker_throughput": worker_throughput,
}


def rows(out: Path) -> list[Row]:
    table: list[Row] = []
    for name, headline in HEADLINES.items():
        data = _load(out, name)
        if data is None:
            table.append(Row(name, "-", "-", "-", "no results"))
            continue
        try:
            table += headline(data)
        except (KeyError, TypeError, ValueError) as exc:
            table.append(Row(name, "-", f"unreadable results ({exc!r})", "-", "no results"))
    return table


def profile_breakdown(out: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(out.glob("durable_intake_profile_*/profile.json")):
        store = path.parent.name.rsplit("_", 1)[1]
        prof = json.loads(path.read_text(encoding="utf-8"))
        busy, parts = worker_breakdown(path.parent / "stacks.txt")
        loop_all = prof["samples"].get("event loop", 0)
        loop_busy = prof["busy_samples"].get("event loop", 0)
        lines += ["", f"**{store}** — {prof['ticks']} ticks of {prof['interval_s'] * 1000:g} ms;"
                  f" the event loop was busy in {loop_busy / max(loop_all, 1):.0%} of them;"
                  f" {busy} busy worker-thread samples (a request in the thread pool):", "",
                  "| part of the intake path (worker threads) | share of busy worker time |",
                  "|---|---|"]
        lines += [f"| {part} | {n / max(busy, 1):.1%} |" for part, n in parts]
        loop_busy, leaves = loop_leaves(path.parent / "stacks.txt")
        if leaves:
            lines += ["", f"Busy event-loop samples ({loop_busy}) by the function they were in: "
                      + "; ".join(f"`{f}` {n}" for f, n in leaves[:8]) + "."]
    return lines


def markdown(out: Path) -> str:
    table = rows(out)
    missed = [r for r in table if r.status == "MISSED"]
    lines = ["# Benchmark summary", "",
             "Every benchmark's headline figure from bench/results/*.json, with its target"
             " (issue 22's, or the benchmark's own goal) and whether the recorded run met it."
             " Each benchmark's date, machine and load are in its own file; only"
             " durable_intake's figures are ratios to limits measured in the same run"
             " (baselines.json).", "",
             "| bench | figure | result | target | status |", "|---|---|---|---|---|"]
    lines += [f"| {r.bench} | {r.figure} | {r.value} | {r.target} | **{r.status}** |"
              if r.status == "MISSED" else
              f"| {r.bench} | {r.figure} | {r.value} | {r.target} | {r.status} |" for r in table]
    lines += ["", f"**{len(missed)} target(s) missed**: " + "; ".join(
        f"{r.bench}: {r.figure} ({r.value}, target {r.target})" for r in missed) + "."
        if missed else "Every target with results was met."]
    base = _load(out, "baselines")
    if base is not None:
        lines += ["", "## Limits measured with durable_intake", "",
                  f"{base['date']}, load average {base['load_average_before']} →"
                  f" {base['load_average_after']}: bare ASGI hello-world"
                  f" {base['hello_asgi_rps']} req/s (the gateway's own /healthz"
                  f" {base.get('gateway_healthz_rps', '-')} req/s); redis-benchmark LPUSH"
                  f" {base['redis_lpush_rps']} req/s; PostgreSQL commit loop"
                  f" {base['pg_commit_1_client_per_s']} commits/s on 1 client,"
                  f" {base['pg_commit_n_clients_per_s']} on many; SQLite commit loop"
                  f" {base['sqlite_commit_per_s']} commits/s."]
    breakdown = profile_breakdown(out)
    if breakdown:
        lines += ["", "## Where the durable intake's time goes (sampled profile)", "",
                  "Wall-clock samples of every thread of `hotline serve` under the saturating"
                  " JSON-intake load, from when the gateway was up (bench/sampler.py; collapsed"
                  " stacks in `durable_intake_profile_*/stacks.txt`, flame-graph format). A"
                  " busy worker thread is one carrying a request (idle pool threads left out);"
                  " its time counts where it is, waiting included (locks, the database,"
                  " fsync). With 16 requests in flight and one commit at a time, most of the"
                  " workers' time is queueing. The sampler runs inside the process and needs the"
                  " GIL: waits are counted faithfully, Python code running on the CPU is"
                  " under-counted (py-spy, outside the process, would not be).", *breakdown]
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def write(out: Path = RESULTS) -> Path:
    path = out / "summary.md"
    path.write_text(markdown(out), encoding="utf-8")
    return path


def main() -> int:
    print(write().read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
