"""Masking of personal identifiers for logs: phone numbers and WeChat openids never appear whole."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``+8613800138000`` → ``+86138****8000``; short or empty values are fully masked."""
    if not phone:
        return "-"
    if len(phone) < 8:
        return "****"
    return f"{phone[:-8]}****{phone[-4:]}"


def mask_openid(openid: str | None) -> str:
    """``oUpF8uMuAJO_M2pxb1Q9zNjWeS6o`` → ``oUpF…eS6o``."""
    if not openid:
        return "-"
    if len(openid) <= 8:
        return "****"
    return f"{openid[:4]}…{openid[-4:]}"
