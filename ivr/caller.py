"""Who is calling: the caller id from the AGI environment as E.164, or anonymous."""

from __future__ import annotations

from tickets.phone import to_e164

REGION = "CN"
RESTRICTED = 0x20  # AST_PRES_RESTRICTED in the presentation's 0x60 bits


def is_withheld(calling_pres: str) -> bool:
    """``agi_callingpres`` is a number; 'presentation restricted' means the caller hid it."""
    try:
        return int(calling_pres) & 0x60 == RESTRICTED
    except ValueError:
        return False


def caller_e164(caller_id: str, calling_pres: str = "0") -> str | None:
    """``13800138000`` → ``+8613800138000``; withheld, absent or invalid → None."""
    raw = caller_id.strip()
    if not raw or raw.lower() in {"unknown", "anonymous", "restricted", "private"}:
        return None
    if is_withheld(calling_pres):
        return None
    return to_e164(raw, REGION)
