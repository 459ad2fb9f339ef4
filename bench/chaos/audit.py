"""The audit, in the terms of Jepsen's queue checker (pure: no I/O).

Each intake the driver sent is an operation with an idempotency key and an outcome: ``ok``
(acknowledged), ``fail`` (definitely refused) or ``info`` (no answer ever came). Each ticket in
the feed carries its key in ``channel_ref``. Then:

* **lost**: acknowledged, and no ticket has its key;
* **duplicated**: two or more tickets have one key;
* **unexpected**: a ticket whose key no intake sent, or whose intake was refused;
* **recovered**: no answer ever came, and the ticket is there (the provider never knew);
* **acknowledged** (present), **unknown absent** (no answer, no ticket: allowed), **refused**.

Beyond the queue: every ticket is past ``received``; an acknowledged number is the ticket's
number; each delivery to a destination was made once (one delivery id per ticket and
destination; the receiver may see an id again: at-least-once with an idempotency key, counted
as redelivered); each resident was notified at most once, and every resident answered "the
number comes later" was sent it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.channels import TICKET_CHANNEL, Kind, ref_tail

EXAMPLES = 10


@dataclass
class Findings:
    """Up to :data:`EXAMPLES` examples of each finding, by name."""

    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, problem: str, what: str) -> None:
        found = self.examples.setdefault(problem, [])
        if len(found) < EXAMPLES:
            found.append(what)


@dataclass
class Audit(Findings):
    intakes: int = 0
    not_sent: int = 0  # web forms whose page never loaded: nothing was sent
    acknowledged: int = 0
    acknowledged_later: int = 0  # of which answered "the number comes later" (spooled)
    refused: int = 0
    unknown: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    recovered: int = 0
    unknown_absent: int = 0
    number_mismatch: int = 0
    tickets: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    not_registered: int = 0
    deliveries_received: int = 0
    deliveries_duplicated: int = 0  # a ticket delivered twice to one destination (two ids)
    deliveries_redelivered: int = 0  # one delivery id seen again (at-least-once)
    dispatched_undelivered: int = 0
    notifications_sent: int = 0
    notifications_duplicated: int = 0  # a resident told more than once
    later_never_told: int = 0  # answered "number comes later", never sent the number
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.number_mismatch
                    or self.not_registered or self.deliveries_duplicated
                    or self.dispatched_undelivered or self.notifications_duplicated
                    or self.later_never_told)


def _index(tickets: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for t in tickets:
        found[(str(t["channel"]), ref_tail(str(t["channel_ref"])))].append(t)
    return found


def classify(ops: Sequence[Mapping[str, Any]], tickets: Sequence[Mapping[str, Any]]) -> Audit:
    """The queue checker over the driver's operations and the feed's tickets."""
    a = Audit(intakes=len(ops), tickets=len(tickets))
    index = _index(tickets)
    claimed: set[tuple[str, str]] = set()
    for op in ops:
        kind = Kind(op["kind"])
        row = a.by_channel.setdefault(kind.value, Counter())
        row["intakes"] += 1
        if op["key"] is None:
            a.not_sent += 1
            row["not_sent"] += 1
            continue
        slot = (TICKET_CHANNEL[kind], str(op["key"]))
        claimed.add(slot)
        found = index.get(slot, [])
        outcome = op["outcome"]
        if len(found) > 1:
            a.duplicated += 1
            a.note("duplicated", f"{kind.value} {op['key']}: {[t['id'] for t in found]}")
        if outcome == "ok":
            a.acknowledged += 1
            row["acknowledged"] += 1
            if op["number"] == "later":
                a.acknowledged_later += 1
            if not found:
                a.lost += 1
                row["lost"] += 1
                a.note("lost", f"{kind.value} {op['key']} acknowledged {op['number']}")
            elif op["number"] != "later" and found[0]["number"] != op["number"]:
                a.number_mismatch += 1
                a.note("number_mismatch", f"{op['key']}: told {op['number']}, ticket "
                                          f"{found[0]['number']}")
        elif outcome == "fail":
            a.refused += 1
            row["refused"] += 1
            a.note("refused", f"{kind.value} {op['key']}: {op['answers'][-1:]}")
            if found:
                a.unexpected += 1
                a.note("unexpected", f"refused {kind.value} {op['key']} is ticket "
                                     f"{found[0]['id']}")
        else:
            a.unknown += 1
            row["unknown"] += 1
            if found:
                a.recovered += 1
                row["recovered"] += 1
            else:
                a.unknown_absent += 1
    for slot, found in index.items():
        if slot not in claimed:
            a.unexpected += len(found)
            a.note("unexpected", f"no intake sent {slot}: {[t['id'] for t in found]}")
    statuses = Counter(str(t["status"]) for t in tickets)
    a.by_status = dict(sorted(statuses.items()))
    a.not_registered = statuses.get("received", 0)
    a.by_channel = {k: dict(v) for k, v in sorted(a.by_channel.items())}
    return a


def deliveries(a: Audit, tickets: Sequence[Mapping[str, Any]],
               received: Sequence[tuple[str, str, str]]) -> None:
    """Webhook effects: ``received`` holds (delivery id, destination, ticket id) per request
    the destination's receiver accepted."""
    a.deliveries_received = len(received)
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    seen = Counter(r[0] for r in received)
    for delivery, destination, ticket_id in received:
        ids[(ticket_id, destination)].add(delivery)
    a.deliveries_redelivered = sum(n - 1 for n in seen.values() if n > 1)
    for (ticket_id, destination), keys in ids.items():
        if len(keys) > 1:
            a.deliveries_duplicated += 1
            a.note("deliveries_duplicated", f"{ticket_id} → {destination}: {sorted(keys)}")
    delivered = {ticket_id for ticket_id, _ in ids}
    for t in tickets:
        if t["status"] not in ("received", "registered", "merged", "rejected") and (
                t["id"] not in delivered):
            a.dispatched_undelivered += 1
            a.note("dispatched_undelivered", f"{t['id']} ({t['status']})")


def notifications(a: Audit, ops: Sequence[Mapping[str, Any]], phones: Mapping[int, str],
                  openids: Mapping[int, str], sent_to: Sequence[str]) -> None:
    """Messages to residents: ``sent_to`` holds the recipient (phone or openid) of each
    message the provider stand-ins took; ``phones``/``openids`` the resident of each intake."""
    a.notifications_sent = len(sent_to)
    per = Counter(sent_to)
    for who, n in per.items():
        if n > 1:
            a.notifications_duplicated += 1
            a.note("notifications_duplicated", f"{who[:6]}…: {n} messages")
    for op in ops:
        if op["outcome"] == "ok" and op["number"] == "later":
            who = phones.get(op["index"], openids.get(op["index"], ""))
            if who and per[who] == 0:
                a.later_never_told += 1
                a.note("later_never_told", f"{op['kind']} {op['key']}")
