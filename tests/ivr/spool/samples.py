"""Spool entries as the dialplan writes them, for the spool tests."""

from __future__ import annotations

SIDE = (
    "unique_id=1795705400.1\n"
    "caller=13800138000\n"
    "presentation=allowed_not_screened\n"
    "reason=gateway-down\n"
    "ticket_id=\n"
    "started=1795705400\n"
    "ended=1795705439\n"
)
STEM = "20261126T150320Z-1795705400.1"
