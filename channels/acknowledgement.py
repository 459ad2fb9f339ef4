"""What a resident reads right after writing: the one rule shared by every text channel.

The outcome of the threading rule (:mod:`channels.conversation`) picks the text — a new
ticket's number, a follow-up joined to a ticket, a rating taken — from the channel's own
section of ``channels/texts.yaml``; each channel words its texts for its own screen.
"""

from __future__ import annotations

from typing import Protocol

from channels.conversation import Action, Outcome
from channels.texts import texts


class AcknowledgementTexts(Protocol):
    """The three slots every text channel's section has."""

    @property
    def acknowledged(self) -> str: ...

    @property
    def follow_up(self) -> str: ...

    @property
    def evaluated(self) -> str: ...


def acknowledgement(outcome: Outcome, say: AcknowledgementTexts) -> str:
    """The reply to a message with ``outcome``, in the channel's words ``say``. A text may
    name the ticket's kind as the resident chose it (``{kind}``) besides its ``{number}``."""
    number = outcome.ticket.number
    if outcome.action is Action.evaluate:
        return say.evaluated.format(number=number, score=outcome.score)
    if outcome.action is Action.follow_up:
        return say.follow_up.format(number=number)
    return say.acknowledged.format(number=number, kind=texts().kind(outcome.ticket.kind))
