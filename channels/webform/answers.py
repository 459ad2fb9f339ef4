"""An answer given with the status page's buttons (:mod:`channels.webform.loop_route`), applied
— live, or by the spool's ingester when the store did not answer before the page's deadline
(:mod:`channels.spooled`): one rule, idempotent on the form's one-time id."""

from __future__ import annotations

from channels.inbound import WebAnswer
from tickets.model import Channel
from tickets.store import Store
from tickets.verify_store import AnswerOutcome, record_answer


def apply(store: Store, given: WebAnswer) -> AnswerOutcome:
    """Record ``given`` on its ticket (when it was given: a spooled answer is judged by the
    moment the resident pressed the button)."""
    return record_answer(store, given.ticket_id, given.answer, channel=Channel.web,
                         key=given.key, words=given.words, now=given.at)
