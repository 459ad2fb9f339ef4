"""What the caller hears about a ticket's progress: only its status, never personal data."""

from __future__ import annotations

import re

from router.model import Status

# 10 digits on a normal day, more on a day past 9,999 tickets (``#`` ends the entry)
NUMBER = re.compile(r"^\d{10,16}$")
NUMBER_DIGITS = 16


def status_prompts(status: Status) -> tuple[str, ...]:
    return ("status_is", f"status/{status.value}")


def valid_number(digits: str) -> bool:
    return NUMBER.match(digits) is not None
