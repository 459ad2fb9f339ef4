"""``POST /channels/twilio/sms``: thin FastAPI glue around verify → parse → threading → TwiML."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from channels.http import TwilioConfig
from channels.media_jobs import FETCH_JOB, MEDIA_QUEUE
from channels.threading import Outcome, handle
from channels.twilio_sms import parse, reply, verify
from router.api import get_store
from router.httperrors import ApiError
from router.masking import mask_phone
from router.model import Intake
from router.store import Job

log = logging.getLogger(__name__)
TWIML = "application/xml"


class MediaJobs:
    """One ``media`` job per MMS attachment, aimed at the ticket the message lands on."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def __call__(self, ticket_id: str | None) -> tuple[Job, ...]:
        return tuple(
            Job(MEDIA_QUEUE, FETCH_JOB,
                (self.intake.channel_ref, a.url, a.content_type, ticket_id or ""))
            for a in self.intake.attachments
        )


def _check_configured(config: TwilioConfig) -> tuple[str, str]:
    if not config.auth_token:
        raise ApiError(503, "the Twilio SMS channel is not configured: "
                            "set HOTLINE_TWILIO_AUTH_TOKEN", "channel_disabled")
    if not config.public_url:
        raise ApiError(503, "the Twilio SMS channel needs HOTLINE_PUBLIC_URL (the URL Twilio "
                            "signs)", "channel_disabled")
    return config.auth_token, config.public_url


def build_router(config: TwilioConfig) -> APIRouter:
    router = APIRouter(tags=["channels"])

    @router.post(verify.PATH, response_class=Response,
                 responses={200: {"content": {TWIML: {}}, "description": "TwiML reply"}})
    async def twilio_sms(request: Request) -> Response:
        """Twilio's incoming-message webhook (SMS and MMS)."""
        auth_token, public_url = _check_configured(config)
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        url = verify.signed_url(public_url, verify.PATH, request.url.query)
        signature = request.headers.get("x-twilio-signature", "")
        if not verify.is_valid(auth_token, url, params, signature):
            log.warning("refused a Twilio webhook with a %s signature",
                        "wrong" if signature else "missing")
            raise ApiError(403, "invalid or missing X-Twilio-Signature", "bad_signature")
        try:
            message = parse.parse(params)
        except parse.BadMessage as exc:
            raise ApiError(400, str(exc)) from None
        if not message.body and not message.media:
            return Response(reply.twiml(reply.EMPTY), media_type=TWIML)
        intake = parse.to_intake(message, datetime.now(UTC))
        store = get_store(request)
        outcome: Outcome = await run_in_threadpool(handle, store, intake, MediaJobs(intake))
        log.info("sms %s from %s → ticket %s (%s%s)", message.sid, mask_phone(message.from_),
                 outcome.ticket.number, outcome.action.value,
                 ", repeat" if outcome.repeat else "")
        return Response(reply.twiml(reply.acknowledgement(outcome)), media_type=TWIML)

    return router
