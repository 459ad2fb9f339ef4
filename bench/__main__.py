"""``python -m bench``: run every benchmark (``make bench``), or the ones named.

    python -m bench              # every module, one after the other
    python -m bench --list       # their names and first lines
    python -m bench call_burst   # only these

Each benchmark runs as ``python -m bench.NAME`` in its own process and writes its results to
bench/results/. A benchmark that fails does not stop the others; the exit status says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# helpers of the benchmarks, not benchmarks: the baselines are measured by durable_intake in the
# same run as what they are the limits of; summary runs after the others (main below); chaos is
# `make chaos` (bench/chaos/), a run of its own
NOT_BENCHMARKS = frozenset({"common", "__main__", "hello_asgi", "wrk", "baselines", "sampler",
                            "summary", "chaos"})


def benchmarks() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                  if m.name not in NOT_BENCHMARKS and not m.name.startswith("_"))


def summary(name: str) -> str:
    """The first line of a benchmark's docstring (read without importing it)."""
    spec = importlib.util.find_spec(f"bench.{name}")
    origin = spec.origin if spec is not None else None
    text = Path(origin).read_text(encoding="utf-8") if origin else ""
    body = text.split('"""', 2)[1] if text.count('"""') >= 2 else ""
    return body.strip().split("\n", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    known = benchmarks()
    if args.list:
        for name in known:
            print(f"{name:16} {summary(name)}")
        return 0
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    failed = []
    for name in args.names or known:
        print(f"== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode:
            failed.append(name)
    from bench import summary as results_summary

    print(f"== summary: {results_summary.write()}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
