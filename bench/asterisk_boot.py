"""Boot and stop time of the test Asterisk (tests/support/asterisk.py) from the cached chroot,
and one Local-channel fallback call. Not a test: prints figures for docs/asterisk.md.

    .venv/bin/python -m bench.asterisk_boot [RUNS]   (as root)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.asterisk import Asterisk
from tests.support.services import free_port


def main(runs: int = 5) -> None:
    boots: list[float] = []
    stops: list[float] = []
    calls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ast-bench-") as tmp:
        for i in range(runs):
            base = Path(tmp) / str(i)
            ast = Asterisk(base / "ast", agi_port=free_port(), shared_dir=base / "shared")
            began = time.monotonic()
            ast.start()
            boots.append(time.monotonic() - began)
            try:
                began = time.monotonic()
                ast.call_local(script=[("wait", "0.5"), ("hangup", "")], timeout=30)
                calls.append(time.monotonic() - began)
            finally:
                began = time.monotonic()
                ast.stop()
                stops.append(time.monotonic() - began)

    def line(name: str, values: list[float]) -> str:
        return (f"{name}: median {statistics.median(values):.2f} s, "
                f"min {min(values):.2f} s, max {max(values):.2f} s (n={len(values)})")

    print(line("start() incl. config + namespace + core waitfullybooted", boots))
    print(line("fallback call (AGI refused, apology, hang-up after 0.5 s)", calls))
    print(line("stop() (core stop now + wait on the PID)", stops))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
