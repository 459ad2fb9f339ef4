"""The chaos audit's classification (Jepsen's queue checker) on known histories."""

from __future__ import annotations

from typing import Any

from bench.chaos.audit import classify, deliveries, notifications


def op(index: int, kind: str, key: str | None, outcome: str, number: str | None = None
       ) -> dict[str, Any]:
    return {"index": index, "kind": kind, "key": key, "outcome": outcome, "number": number,
            "answers": ["ReadTimeout"]}


def ticket(tid: str, channel: str, ref: str, number: str = "2612080001",
           status: str = "registered") -> dict[str, Any]:
    return {"id": tid, "channel": channel, "channel_ref": ref, "number": number,
            "status": status}


def test_a_clean_history_is_valid() -> None:
    a = classify([op(0, "sms", "SM1", "ok", "2612080001"),
                  op(1, "api", "chaos-1", "ok", "2612080002"),
                  op(2, "open311", "chaos-2", "ok", "2612080003")],
                 [ticket("t1", "sms", "SM1"),
                  ticket("t2", "api", "k1:chaos-1", "2612080002"),
                  ticket("t3", "api", "open311:k1:chaos-device:chaos-2", "2612080003")])
    assert (a.acknowledged, a.lost, a.duplicated, a.unexpected) == (3, 0, 0, 0)
    assert a.valid


def test_lost_duplicated_unexpected_recovered() -> None:
    ops = [op(0, "sms", "SM1", "ok", "2612080001"),  # acknowledged, absent: lost
           op(1, "wechat", "77", "info"),  # no answer, two tickets: duplicated, recovered
           op(2, "web", "abc", "fail"),  # refused but present: unexpected
           op(3, "api", "chaos-3", "info"),  # no answer, absent: allowed
           op(4, "web", None, "fail")]  # the page never loaded: nothing sent
    tickets = [ticket("t1", "wechat", "77"), ticket("t2", "wechat", "77"),
               ticket("t3", "web", "abc"), ticket("t4", "sms", "SM-nobody")]
    a = classify(ops, tickets)
    assert (a.lost, a.duplicated, a.recovered, a.unknown_absent, a.not_sent) == (1, 1, 1, 1, 1)
    assert a.unexpected == 2  # the refused form, and a ticket no intake sent
    assert not a.valid
    assert a.by_channel["sms"] == {"intakes": 1, "acknowledged": 1, "lost": 1}


def test_a_told_number_must_be_the_tickets_and_tickets_must_be_registered() -> None:
    a = classify([op(0, "sms", "SM1", "ok", "2612080009")],
                 [ticket("t1", "sms", "SM1", "2612080001", status="received")])
    assert (a.number_mismatch, a.not_registered, a.valid) == (1, 1, False)
    later = classify([op(0, "sms", "SM1", "ok", "later")], [ticket("t1", "sms", "SM1")])
    assert (later.acknowledged_later, later.number_mismatch) == (1, 0)


def test_deliveries_once_per_destination_redelivery_counted() -> None:
    tickets = [ticket("t1", "sms", "SM1", status="dispatched"),
               ticket("t2", "sms", "SM2", status="dispatched"),
               ticket("t3", "sms", "SM3", status="dispatched")]
    a = classify([], tickets)
    deliveries(a, tickets, [("d1", "district", "t1"), ("d1", "district", "t1"),
                            ("d2", "district", "t2"), ("d3", "district", "t2")])
    assert (a.deliveries_redelivered, a.deliveries_duplicated) == (1, 1)
    assert a.dispatched_undelivered == 1  # t3


def test_notifications_once_and_the_later_number_sent() -> None:
    ops = [op(0, "sms", "SM1", "ok", "later"), op(1, "sms", "SM2", "ok", "later")]
    a = classify(ops, [])
    notifications(a, ops, {0: "+8613900000000", 1: "+8613900000001"}, {},
                  ["+8613900000000", "+8613900000000"])
    assert (a.notifications_duplicated, a.later_never_told) == (1, 1)
