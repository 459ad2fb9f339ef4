"""bench/results/chaos.{json,md}: the run's settings, the fault timeline, the counts and the
audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(out: Path, result: dict[str, Any]) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "chaos.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    text = markdown(result)
    (out / "chaos.md").write_text(text, encoding="utf-8")
    return text


def _rows(pairs: dict[str, Any]) -> list[str]:
    return [f"| {k} | {v} |" for k, v in pairs.items()]


def _call_rows(r: dict[str, Any]) -> list[str]:
    """The calls through the IVR (bench/chaos/calls_audit.py), when the run placed any."""
    c = r.get("calls")
    if not r.get("calls_planned") or not c:
        return []
    return _rows({
        "calls through the IVR (SIPp, one real Asterisk, two `hotline agi`)":
            f"{c['calls']} ({r['call_concurrency']} at a time); {c['answered']} completed by SIPp",
        "`hotline agi` SIGKILLs / with a caller speaking": f"{c['kills']} / "
                                                           f"{c['kills_mid_message']}",
        "calls that recorded their message (no kill overlapped, the IVR hung up)":
            c["recorded"],
        "**calls lost** (recorded, no ticket) / **doubled** (two tickets)":
            f"{c['lost']} / {c['duplicated']}",
        "callers cut while speaking / kept as one ticket with the audio / **cut lost**":
            f"{c['cut_speaking']} / {c['cut_kept']} / {c['cut_lost']}",
        "other calls a kill overlapped (menu, silence, read-back) / with a ticket":
            f"{c['cut_other']} / {c['cut_other_ticketed']}",
        "calls no kill overlapped that the IVR never hung up (**failed**)": c["failed"],
        "voice tickets / transcribed / **transcript missing** after settling":
            f"{c['voice_tickets']} / {c['transcribed']} / {c['transcript_missing']}",
        "**unexpected** voice tickets": c["unexpected"],
    })


def markdown(r: dict[str, Any]) -> str:
    a = r["audit"]
    s = r["end_state"]
    lines = [
        "# make chaos: the production shape under faults",
        "",
        f"Run {r['date']} on {r['machine']} (load average {r['load_average_before']} at the"
        f" start; the machine is shared) with `python -m bench.chaos {r['argv']}`.",
        "",
        "Shape: PostgreSQL (fsync on) behind a TCP proxy, Redis (append-only file, fsync"
        " always), two `hotline serve`, two `hotline worker`, `hotline relay`, `hotline spool"
        " ingest --watch`, all `HOTLINE_ENV=production`. A separate client process sent"
        f" {r['planned']} intakes ({r['concurrency']} at a time) over signed Twilio SMS, WeChat"
        " safe mode (3 attempts, 5 s apart, as WeChat retries), the web form (CSRF token from"
        " the page), the JSON API and Open311 POST, retrying each unanswered request with the"
        " same key on the other server.",
        "",
        f"**Verdict: {'valid' if r['valid'] else 'INVALID'}** — lost {a['lost']}, duplicated"
        f" {a['duplicated']}, unexpected {a['unexpected']}, recovered {a['recovered']}"
        + (f"; calls lost {r['calls']['lost'] + r['calls']['cut_lost']}, duplicated"
           f" {r['calls']['duplicated']}." if r.get("calls_planned") else "."),
        "",
        "## Counts",
        "",
        "| | |",
        "|---|---|",
        *_rows({
            "intakes sent": a["intakes"] - a["not_sent"],
            "web forms whose page never loaded (nothing sent)": a["not_sent"],
            "acknowledged": a["acknowledged"],
            "… of which 'number comes later' (spooled)": a["acknowledged_later"],
            "refused (definite 4xx)": a["refused"],
            "unknown (no answer after every retry)": a["unknown"],
            "**lost** (acknowledged, not in the feed)": a["lost"],
            "**duplicated** (two tickets for one key)": a["duplicated"],
            "**unexpected**": a["unexpected"],
            "**recovered** (unknown, present)": a["recovered"],
            "unknown and absent": a["unknown_absent"],
            "acknowledged number ≠ ticket number": a["number_mismatch"],
            "tickets in the feed": a["tickets"],
            "tickets still `received`": a["not_registered"],
            "tickets by status": ", ".join(f"{k} {v}" for k, v in a["by_status"].items()),
            "webhook deliveries received / redelivered (same id)":
                f"{a['deliveries_received']} / {a['deliveries_redelivered']}",
            "tickets delivered twice to one destination (two ids)": a["deliveries_duplicated"],
            "dispatched tickets never delivered": a["dispatched_undelivered"],
            "notifications to residents / residents told twice":
                f"{a['notifications_sent']} / {a['notifications_duplicated']}",
            "'number comes later' never sent": a["later_never_told"],
            "drive time / acknowledged per second":
                f"{r['drive_seconds']} s / {r['acknowledged_per_s']}",
            "settling time after the drive": f"{r['settle_seconds']} s",
        }),
        *_call_rows(r),
        "",
        "## By channel",
        "",
        "| channel | intakes | acknowledged | refused | unknown | recovered | lost |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in a["by_channel"].items():
        lines.append(f"| {name} | {c.get('intakes', 0)} | {c.get('acknowledged', 0)} |"
                     f" {c.get('refused', 0)} | {c.get('unknown', 0)} |"
                     f" {c.get('recovered', 0)} | {c.get('lost', 0)} |")
    lines += ["", "## Fault timeline (seconds from the start of the drive)", "",
              "| start | end | fault | what was done |", "|---|---|---|---|"]
    lines += [f"| {e['start']} | {e['end']} | {e['name']} | {e['note']} |"
              for e in r["timeline"]]
    lines += ["", "## End state", "", "| | |", "|---|---|", *_rows({
        "outbox rows never enqueued (due)": f"{s['outbox_pending']} ({s['outbox_due']})",
        "jobs queued / marked running (held by killed workers until rq's timeout)":
            f"{s['queued']} / {s['started']}",
        "failed jobs (dead letters)": len(s["failed_jobs"]),
        "deliveries by status": s["deliveries"],
        "notifications by status": s["notifications"],
        "spool entries left": s["spool_left"],
        "messages left in the recordings folder / voice tickets without a transcript":
            f"{s.get('recordings_left', 0)} / {s.get('untranscribed', 0)}",
        "tickets whose dispatch job the stuck sweep wrote again (a job lost with its worker)":
            s["dispatch_rewritten"],
        "processes that exited by themselves (restarted by the supervisor)":
            ", ".join(r["crashed"]) or "none",
    })]
    if s["failed_jobs"]:
        lines += ["", "Failed jobs (first 10):", "", *[f"- `{j}`" for j in s["failed_jobs"][:10]]]
    if a["examples"]:
        lines += ["", "## Examples of each finding", ""]
        for problem, found in a["examples"].items():
            lines.append(f"- {problem}: " + "; ".join(f"`{x}`" for x in found[:5]))
    return "\n".join(lines) + "\n"
