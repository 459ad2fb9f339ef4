"""The audit of the calls through the IVR on known histories."""

from __future__ import annotations

from typing import Any

from bench.chaos.calls_audit import check


def call(n: int, start: float, end: float, *, hung_up: bool = True, rc: int = 0
         ) -> dict[str, Any]:
    return {"caller": f"1370000{n:04d}", "start": start, "end": end, "returncode": rc,
            "hung_up_by_ivr": hung_up, "output": "" if rc == 0 else "timeout"}


def voice(n: int, number: str, *, audio: bool = True, transcript: bool = True
          ) -> dict[str, Any]:
    return {"id": f"t{number}", "channel": "voice", "channel_ref": f"chaos/{number}",
            "number": number, "status": "registered",
            "citizen": {"phone": f"+86137{n:08d}" if n >= 0 else None},
            "attachments": [{"url": "/media/x"}] if audio else [],
            "transcript": {"text": "路灯坏了", "model": "vosk"} if transcript else None}


def cut(at: float, speaking: list[int]) -> dict[str, Any]:
    return {"gateway": "agi-1", "at": at, "recording": [f"+86137{n:08d}" for n in speaking],
            "speaking": [f"+86137{n:08d}" for n in speaking]}


def test_recorded_calls_each_one_ticket_is_valid() -> None:
    a = check([call(1, 0, 30), call(2, 5, 36)], [],
              [voice(1, "2612080001"), voice(2, "2612080002"),
               {"channel": "sms", "channel_ref": "SM1", "attachments": []}])
    assert (a.calls, a.recorded, a.lost, a.duplicated, a.voice_tickets) == (2, 2, 0, 0, 2)
    assert a.transcribed == 2 and a.valid
    assert a.channel_row() == {"intakes": 2, "acknowledged": 2, "refused": 0, "unknown": 0,
                               "recovered": 0, "lost": 0}


def test_lost_doubled_unexpected_and_untranscribed_are_findings() -> None:
    a = check([call(1, 0, 30), call(2, 0, 30), call(3, 0, 30), call(4, 0, 30)], [],
              [voice(2, "2612080002"), voice(2, "2612080003"),
               voice(3, "2612080004", transcript=False), voice(9, "2612080005"),
               voice(4, "2612080006", audio=False)])  # a ticket without the message: lost
    assert (a.lost, a.duplicated, a.unexpected, a.transcript_missing) == (2, 1, 1, 1)
    assert not a.valid
    assert set(a.examples) == {"lost", "duplicated", "unexpected", "transcript_missing"}


def test_a_caller_cut_while_speaking_must_keep_the_message() -> None:
    calls = [call(1, 0, 40), call(2, 10, 45)]
    kept = check(calls, [cut(16.0, [1])], [voice(1, "2612080001"), voice(2, "2612080002")])
    assert (kept.cut_speaking, kept.cut_kept, kept.cut_lost) == (1, 1, 0)
    # call 2 was in the menu at the kill: no promise but at most one ticket
    assert (kept.cut_other, kept.cut_other_ticketed, kept.recorded) == (1, 1, 0)
    assert kept.valid and kept.kills_mid_message == 1
    lost = check(calls, [cut(16.0, [1])], [voice(1, "2612080001", audio=False)])
    assert (lost.cut_lost, lost.cut_other_ticketed) == (1, 0)
    assert not lost.valid


def test_a_call_no_kill_touched_that_never_ended_in_the_ivr_failed() -> None:
    a = check([call(1, 0, 180, hung_up=False, rc=1)], [cut(200.0, [])], [])
    assert (a.failed, a.recorded, a.lost) == (1, 0, 0)
    assert not a.valid
