"""``channel_state`` memory of a WeChat user: merges from concurrent events must not lose keys."""

from __future__ import annotations

import threading

from channels.wechat import state
from tickets.store import Store

OPENID = "oABCD1234efgh5678ijkl9012mnop"
THREADS = 12


def test_merge_sets_and_deletes_keys(store: Store) -> None:
    assert state.load(store.db, OPENID) == {}
    first = state.merge(store.db, OPENID, {"kind": "road", "lat": 1.5})
    assert first == {"kind": "road", "lat": 1.5}
    assert state.merge(store.db, OPENID, {"kind": None, "lng": 2.5}) == {"lat": 1.5, "lng": 2.5}
    assert state.load(store.db, OPENID) == {"lat": 1.5, "lng": 2.5}


def _merge_concurrently(store: Store, openid: str) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            state.merge(store.db, openid, {f"k{i}": i})
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_first_merges_all_survive(store: Store) -> None:
    # No row yet: every writer races to create it.
    assert _merge_concurrently(store, OPENID) == []
    assert state.load(store.db, OPENID) == {f"k{i}": i for i in range(THREADS)}


def test_concurrent_merges_into_existing_row_all_survive(store: Store) -> None:
    state.merge(store.db, OPENID, {"kind": "water"})
    assert _merge_concurrently(store, OPENID) == []
    expected = {"kind": "water", **{f"k{i}": i for i in range(THREADS)}}
    assert state.load(store.db, OPENID) == expected
