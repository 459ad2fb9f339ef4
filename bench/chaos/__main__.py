"""``make chaos``: ``python -m bench.chaos [--intakes 10000] [--concurrency 24] [--calls 40]``.

Runs the production shape under the full fault schedule (with ``--calls``: two ``hotline agi``,
a real Asterisk and SIPp callers through the IVR, the primary gateway SIGKILLed mid-call),
writes bench/results/chaos.{json,md} and exits 1 when the audit finds anything lost,
duplicated, unexpected, stuck or done twice.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bench.chaos import report
from bench.chaos.run import run
from bench.chaos.schedule import FULL, FULL_CALLS, SMALL, SMALL_CALLS

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--intakes", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--max-minutes", type=float, default=45.0,
                        help="the driver starts no new intake after this long")
    parser.add_argument("--schedule", choices=("full", "small"), default="full")
    parser.add_argument("--calls", type=int, default=40,
                        help="SIPp callers through the IVR (0: none; needs root)")
    parser.add_argument("--call-concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args(argv)
    # SIGTERM (a timeout, Ctrl-C of make) stops the run cleanly: every process it started
    signal.signal(signal.SIGTERM, _interrupted)
    root = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        full = args.schedule == "full"
        faults = ((FULL_CALLS if full else SMALL_CALLS) if args.calls
                  else (FULL if full else SMALL))
        result = run(root, count=args.intakes, concurrency=args.concurrency,
                     max_seconds=args.max_minutes * 60, faults=faults, repeat=full,
                     argv=" ".join(sys.argv[1:] if argv is None else argv),
                     calls=args.calls, call_concurrency=args.call_concurrency)
        print(report.write(args.out, result))
    finally:
        if args.keep:
            print(f"run folder kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
