"""The TwiML answer and its Chinese text (what the resident reads on their phone)."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from channels.acknowledgement import acknowledgement as acknowledge
from channels.conversation import Outcome
from channels.texts import texts


def acknowledgement(outcome: Outcome) -> str:
    return acknowledge(outcome, texts().sms)


def twiml(text: str) -> str:
    response = MessagingResponse()
    response.message(text)
    return str(response)
