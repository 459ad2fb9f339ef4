"""The audit of the calls through the IVR (pure: no I/O), beside the text channels' queue
checker (:mod:`bench.chaos.audit`).

A call's key is the caller's number (each caller calls once); its tickets are the voice
tickets with that phone. Against what the product promises (README "Several Asterisks behind
Kamailio", docs/ivr.md step 7):

* a call no gateway kill overlapped and that the IVR hung up (after reading the number back,
  or after the fallback spool's thanks) **recorded** its message: exactly one ticket, with the
  audio — else **lost** (none, or only a ticket without the message) or **duplicated** (two
  or more);
* a caller **speaking** into the recording when the gateway was SIGKILLed keeps what was said
  as a ticket ("the message is already in Asterisk's file ... becomes the call's ticket"):
  exactly one ticket with the audio — else **cut lost**;
* any other call a kill overlapped (in the menu, in the silence before the speech, in the
  read-back): at most one ticket;
* a call no kill overlapped that the IVR did not hang up **failed**;
* every voice ticket with audio has its transcript once the system settled;
* a voice ticket no caller explains is **unexpected**.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.chaos.audit import Findings


@dataclass
class CallAudit(Findings):
    calls: int = 0
    answered: int = 0  # SIPp's call completed (returncode 0)
    recorded: int = 0
    cut_speaking: int = 0
    cut_kept: int = 0
    cut_other: int = 0  # overlapped by a kill, not speaking then
    cut_other_ticketed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    cut_lost: int = 0
    unexpected: int = 0
    voice_tickets: int = 0
    transcribed: int = 0
    transcript_missing: int = 0
    kills: int = 0
    kills_mid_message: int = 0  # kills with at least one caller speaking

    @property
    def valid(self) -> bool:
        return not (self.lost or self.duplicated or self.cut_lost or self.unexpected
                    or self.failed or self.transcript_missing)

    def channel_row(self) -> dict[str, int]:
        """The ``ivr`` row of the by-channel table: a recorded call is acknowledged (the
        number was read back), a cut one unknown (nobody told the caller anything sure)."""
        cut = self.cut_speaking + self.cut_other
        return {"intakes": self.calls, "acknowledged": self.recorded, "refused": 0,
                "unknown": cut, "recovered": self.cut_kept + self.cut_other_ticketed,
                "lost": self.lost + self.cut_lost}


def check(calls: Sequence[Mapping[str, Any]], cuts: Sequence[Mapping[str, Any]],
          tickets: Sequence[Mapping[str, Any]]) -> CallAudit:
    """``calls`` and ``cuts`` as :meth:`bench.chaos.ivr.Ivr.history` keeps them; ``tickets``
    the feed (voice tickets are picked out)."""
    a = CallAudit(calls=len(calls), kills=len(cuts),
                  kills_mid_message=sum(1 for c in cuts if c["speaking"]))
    voice = [t for t in tickets if t["channel"] == "voice"]
    a.voice_tickets = len(voice)
    by_phone: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for t in voice:
        by_phone[str((t.get("citizen") or {}).get("phone") or "")].append(t)
    speaking = {p for c in cuts for p in c["speaking"]}
    phones = set()
    for call in calls:
        phone = f"+86{call['caller']}"
        phones.add(phone)
        found = by_phone.get(phone, [])
        a.answered += call["returncode"] == 0
        if len(found) > 1:
            a.duplicated += 1
            a.note("duplicated", f"{phone}: {[t['number'] for t in found]}")
        overlapped = any(call["start"] < c["at"] < (call["end"] or float("inf")) for c in cuts)
        if phone in speaking:
            a.cut_speaking += 1
            if len(found) == 1 and found[0]["attachments"]:
                a.cut_kept += 1
            else:
                a.cut_lost += 1
                a.note("cut_lost", f"{phone}: {len(found)} ticket(s)")
        elif overlapped:
            a.cut_other += 1
            a.cut_other_ticketed += bool(found)
        elif call["hung_up_by_ivr"]:
            a.recorded += 1
            if not any(t["attachments"] for t in found):  # no ticket, or one without the audio
                a.lost += 1
                a.note("lost", f"{phone} (call {call['start']}–{call['end']} s): "
                               f"{[t['number'] for t in found] or 'no ticket'}")
        else:
            a.failed += 1
            a.note("failed", f"{phone}: {call['output'][-200:]}")
    for phone, found in by_phone.items():
        if phone not in phones:
            a.unexpected += len(found)
            a.note("unexpected", f"{phone or 'no phone'}: {[t['number'] for t in found]}")
    for t in voice:
        if not t["attachments"]:
            continue
        if t.get("transcript"):
            a.transcribed += 1
        else:
            a.transcript_missing += 1
            a.note("transcript_missing", f"{t['number']} ({t['status']})")
    return a
