"""What the caller hears about a ticket's progress: only its status, never personal data."""

from __future__ import annotations

import re

from router.model import Status

NUMBER = re.compile(r"^\d{10}$")


def status_prompts(status: Status) -> tuple[str, ...]:
    return ("status_is", f"status/{status.value}")


def valid_number(digits: str) -> bool:
    return NUMBER.match(digits) is not None
