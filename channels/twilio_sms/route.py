"""``POST /channels/twilio/sms``: thin FastAPI glue around verify → parse → service → TwiML."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from channels import closing
from channels.deadline import DELAYED, Deadline, Late, spool_late
from channels.deps import TwilioDep
from channels.texts import texts
from channels.twilio_sms import parse, reply, service, status, verify
from channels.twilio_sms.config import TwilioConfig
from tickets.deps import LimiterDep, StoreDep
from tickets.httperrors import ApiError
from tickets.masking import mask_phone

log = logging.getLogger(__name__)
TWIML = "application/xml"


def _check_configured(config: TwilioConfig) -> tuple[str, str]:
    if not config.auth_token:
        raise ApiError(503, "the Twilio SMS channel is not configured: "
                            "set HOTLINE_TWILIO_AUTH_TOKEN", "channel_disabled")
    if not config.public_url:
        raise ApiError(503, "the Twilio SMS channel needs HOTLINE_PUBLIC_URL (the URL Twilio "
                            "signs)", "channel_disabled")
    return config.auth_token, config.public_url


def _answer(text: str) -> Response:
    return Response(reply.twiml(text), media_type=TWIML)


router = APIRouter(tags=["channels"])


@router.post(verify.PATH, response_class=Response,
             responses={200: {"content": {TWIML: {}}, "description": "TwiML reply"}})
async def twilio_sms(request: Request, store: StoreDep, limiter: LimiterDep,
                     config: TwilioDep) -> Response:
    """Twilio's incoming-message webhook (SMS and MMS)."""
    auth_token, public_url = _check_configured(config)
    try:
        form = await request.form()
    except ClientDisconnect:  # the body limit refused it (413 sent) or the client left
        return Response(status_code=400)
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
        return _answer(texts().sms.empty)
    sender = message.from_ or params.get("From", "")
    now = datetime.now(UTC)
    intake = parse.to_intake(message, now)
    deadline = Deadline(config.deadline)  # Twilio waits 15 s, then retries
    try:
        # a provider's retry of a message already filed is answered, never counted
        filed = await deadline.run(partial(store.find_by_ref, "sms", message.sid))
        if filed is None and not await limiter.allow("sender", f"sms:{sender}"):
            log.warning("sms %s from %s refused: over the sender's rate limit", message.sid,
                        mask_phone(message.from_))
            return _answer(texts().sms.rate_limited)
        # an opt-out, a status query, an answer to the closing questions, or a message to file
        answer = await deadline.run(partial(service.respond, store, intake))
    except Late:
        await spool_late(config.spool_dir, intake, now, config.deadline)
        return _answer(DELAYED)
    if isinstance(answer, closing.Replied):
        return _answer(answer.text)
    return _answer(reply.acknowledgement(answer))


@router.post(status.PATH, status_code=204, response_class=Response)
async def twilio_status(request: Request, store: StoreDep, config: TwilioDep) -> Response:
    """Twilio's delivery report for an SMS sent to a resident (signed like the webhook)."""
    auth_token, public_url = _check_configured(config)
    try:
        form = await request.form()
    except ClientDisconnect:
        return Response(status_code=400)
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    url = verify.signed_url(public_url, status.PATH, request.url.query)
    if not verify.is_valid(auth_token, url, params, request.headers.get("x-twilio-signature", "")):
        log.warning("refused a Twilio status callback with a bad or missing signature")
        raise ApiError(403, "invalid or missing X-Twilio-Signature", "bad_signature")
    try:
        report = status.parse(request.query_params.get("n"), params)
    except status.BadReport as exc:
        raise ApiError(400, str(exc)) from None
    done = await run_in_threadpool(status.apply_report, store, report, datetime.now(UTC))
    log.info("twilio status %s for %s: %s", report.status, report.sid, done)
    return Response(status_code=204)
