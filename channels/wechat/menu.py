"""The official account's menu keys (set in the WeChat admin console) and what the resident
reads when using them (texts from the catalogue ``channels/texts.yaml``)."""

from __future__ import annotations

from channels.acknowledgement import acknowledgement as acknowledge
from channels.conversation import Outcome
from channels.texts import texts
from tickets.model import Kind, Status, Ticket

MENU_KINDS = {
    "KIND_CONSULTATION": Kind.consultation,
    "KIND_HELP": Kind.help,
    "KIND_COMPLAINT": Kind.complaint,
    "KIND_REPORT": Kind.report,
    "KIND_SUGGESTION": Kind.suggestion,
}
MENU_PROGRESS = "PROGRESS"


def acknowledgement(outcome: Outcome) -> str:
    return acknowledge(outcome, texts().wechat)


def kind_prompt(kind: Kind) -> str:
    return texts().wechat.kind_prompt.format(kind=texts().kind(kind))


def progress(ticket: Ticket | None, survivor: Ticket | None = None) -> str:
    """The resident's latest ticket; for a merged one, also the ticket it joined
    (``survivor``), which is where the matter is now handled."""
    say = texts().wechat
    if ticket is None:
        return say.no_ticket
    text = say.progress.format(number=ticket.number, status=texts().status(ticket.status))
    if ticket.status is Status.merged and survivor is not None and survivor.id != ticket.id:
        text += say.progress_merged.format(number=survivor.number,
                                           status=texts().status(survivor.status))
    if ticket.status is Status.closed and ticket.evaluation is None:
        text += say.progress_rate
    if ticket.status is Status.rejected and ticket.reject_reason:
        text += say.progress_rejected.format(reason=ticket.reject_reason)
    return text
