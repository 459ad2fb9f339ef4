"""The TwiML answer and its Chinese text (what the resident reads on their phone)."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from channels.conversation import Action, Outcome
from channels.texts import texts


def acknowledgement(outcome: Outcome) -> str:
    say = texts().sms
    number = outcome.ticket.number
    if outcome.action is Action.evaluate:
        return say.evaluated.format(number=number, score=outcome.score)
    if outcome.action is Action.follow_up:
        return say.follow_up.format(number=number)
    return say.acknowledged.format(number=number)


def twiml(text: str) -> str:
    response = MessagingResponse()
    response.message(text)
    return str(response)
