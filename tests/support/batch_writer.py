"""A second gateway process for the group-commit tests: ``python -m tests.support.batch_writer
URL PREFIX THREADS PER_THREAD`` submits THREADS × PER_THREAD API intakes from as many threads
through its own store (its own group committer) and exits 0 when every one was acknowledged."""

from __future__ import annotations

import sys
import threading

from hotline.wiring import store_over
from tests.support.intakes import intake
from tickets.db import Database
from tickets.model import Channel


def main(url: str, prefix: str, threads: int, per_thread: int) -> int:
    store = store_over(Database(url))
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(per_thread):
                ref = f"{prefix}-{t}-{i}"
                store.submit(intake(ref, f"请求 {ref}", channel=Channel.api))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    store.db.dispose()
    for exc in errors:
        print(f"{prefix}: {exc!r}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
