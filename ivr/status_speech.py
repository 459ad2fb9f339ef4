"""What the caller hears about a ticket's progress: only its status, never personal data."""

from __future__ import annotations

from tickets.model import NUMBER_MAX_DIGITS, Status, is_ticket_number

# 10 digits on a normal day, more on a day past 9,999 tickets (``#`` ends the entry)
NUMBER_DIGITS = NUMBER_MAX_DIGITS


def status_prompts(status: Status, survivor: Status | None = None) -> tuple[str, ...]:
    """The prompts for a ticket's status; a merged ticket's caller also hears the status of
    the ticket it joined (``survivor``), where the matter is now handled."""
    said: tuple[str, ...] = ("status_is", f"status/{status.value}")
    if status is Status.merged and survivor is not None and survivor is not Status.merged:
        said += ("merged_status_is", f"status/{survivor.value}")
    return said


def valid_number(digits: str) -> bool:
    return is_ticket_number(digits)
