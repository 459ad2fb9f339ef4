"""Reading the ticket number back digit by digit; ``*`` hears it again."""

from __future__ import annotations

from ivr.agi.session import AgiSession
from ivr.prompts import Prompts

REPEAT_KEY = "*"
MAX_REPEATS = 3
HINT_WAIT_MS = 5000


def digit_prompts(number: str) -> list[str]:
    """The prompt names that speak ``number`` (pure)."""
    return [f"digits/{d}" for d in number if d.isdigit()]


async def read_number(session: AgiSession, prompts: Prompts, number: str) -> int:
    """Speak the number; return how many times it was spoken."""
    spoken = 0
    while spoken <= MAX_REPEATS:
        spoken += 1
        pressed = await session.stream_file(prompts.path("ticket_number_is"), REPEAT_KEY)
        if pressed == REPEAT_KEY:
            continue
        for name in digit_prompts(number):
            pressed = await session.stream_file(prompts.path(name), REPEAT_KEY)
            if pressed == REPEAT_KEY:
                break
        if pressed == REPEAT_KEY:
            continue
        if spoken > MAX_REPEATS:
            break
        pressed = await session.stream_file(prompts.path("repeat_hint"), REPEAT_KEY)
        if not pressed:
            pressed = await session.wait_for_digit(HINT_WAIT_MS)
        if pressed != REPEAT_KEY:
            break
    return spoken
