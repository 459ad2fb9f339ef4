"""The long-poll notifier: a commit wakes only the waiters it can answer; one poller serves all
waiters of a process for other processes' commits."""

from __future__ import annotations

import asyncio

from tickets.feed import FeedNotifier


def test_a_commit_wakes_only_the_waiters_behind_it() -> None:
    async def scenario() -> list[str]:
        notifier = FeedNotifier(lambda: 0, poll_interval=60)
        notifier.bind(asyncio.get_running_loop())
        woke: list[str] = []

        async def wait(name: str, after: int) -> None:
            await notifier.wait_past(after, 5)
            woke.append(name)

        tasks = [asyncio.create_task(wait("behind", 5)), asyncio.create_task(wait("ahead", 10))]
        await asyncio.sleep(0.05)
        notifier.notify(7)
        await asyncio.sleep(0.05)
        first = list(woke)
        notifier.notify(11)
        await asyncio.gather(*tasks)
        await notifier.close()
        return [*first, "|", *woke]

    assert asyncio.run(scenario()) == ["behind", "|", "behind", "ahead"]


def test_one_poller_reads_the_seq_for_every_waiter() -> None:
    calls: list[int] = []
    seq = [3]

    def current() -> int:
        calls.append(1)
        return seq[0]

    async def scenario() -> None:
        notifier = FeedNotifier(current, poll_interval=0.05)
        notifier.bind(asyncio.get_running_loop())
        waiters = [asyncio.create_task(notifier.wait_past(3, 5)) for _ in range(300)]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in waiters)
        polls = len(calls)
        assert 1 <= polls <= 10  # one read per interval, not one per waiter
        seq[0] = 4  # another process committed
        await asyncio.wait_for(asyncio.gather(*waiters), 2)
        await notifier.close()

    asyncio.run(scenario())


def test_nobody_waiting_means_no_polling() -> None:
    calls: list[int] = []

    async def scenario() -> None:
        notifier = FeedNotifier(lambda: calls.append(1) or 0, poll_interval=0.02)
        notifier.bind(asyncio.get_running_loop())
        await asyncio.sleep(0.2)
        await notifier.close()

    asyncio.run(scenario())
    assert calls == []
