"""``GET|POST /channels/wechat``: thin FastAPI glue around the WeChat adapter.

GET is WeChat's URL verification (echo ``echostr``). POST is a push: check the URL signature
and timestamp, refuse a mode the account is not configured for (a plaintext push to a safe-mode
account is a downgrade), refuse a replayed (timestamp, nonce) with another body, parse the body
with defusedxml, open the AES envelope in safe mode, map the message, apply it in a thread,
answer with a passive reply (sealed again in safe mode) or ``success``. Past the channel's
deadline a message, a menu click or a LOCATION is spooled (:mod:`channels.deadline`).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.requests import ClientDisconnect

from channels.deadline import DELAYED, Deadline, Late, spool_inbound_late, spool_late
from channels.deps import ReplayDep, WechatDep
from channels.inbound import WechatEvent
from channels.texts import texts
from channels.wechat import envelope, reply, service, signature
from channels.wechat.config import WechatConfig
from channels.wechat.parse import Inbound, LocationUpdate, MenuClick, Report, parse
from channels.wechat.xmlsafe import BadXml, parse_fields
from tickets.deps import LimiterDep, StoreDep
from tickets.httperrors import ApiError
from tickets.masking import mask_openid
from tickets.model import Channel
from tickets.ratelimit import RateLimiter
from tickets.store import Store

log = logging.getLogger(__name__)

PATH = "/channels/wechat"
XML = "application/xml"


def _token(config: WechatConfig) -> str:
    if not config.token:
        raise ApiError(503, "the WeChat channel is not configured: set HOTLINE_WECHAT_TOKEN",
                       "channel_disabled")
    return config.token


def _safe_mode(config: WechatConfig, token: str) -> envelope.SafeMode:
    if not config.aes_key or not config.app_id:
        raise ApiError(503, "safe-mode (encrypt_type=aes) messages need HOTLINE_WECHAT_AES_KEY "
                            "and HOTLINE_WECHAT_APP_ID", "channel_disabled")
    if not envelope.valid_aes_key(config.aes_key):
        raise ApiError(503, "HOTLINE_WECHAT_AES_KEY is not a valid EncodingAESKey "
                            "(43 characters of base64)", "channel_disabled")
    return envelope.SafeMode(token, config.aes_key, config.app_id)


def _check(token: str, request: Request, config: WechatConfig) -> None:
    q = request.query_params
    try:
        signature.check(token, q.get("signature", ""), q.get("timestamp", ""),
                        q.get("nonce", ""), time.time(), config.max_clock_skew)
    except signature.Refused as exc:
        raise ApiError(403, str(exc), "bad_signature") from None


async def _over_limit(store: Store, limiter: RateLimiter, report: Report,
                      deadline: Deadline) -> bool:
    """Count a resident's message against their limit (WeChat's retries of a message already
    filed are answered, never counted)."""
    ref = report.intake.channel_ref
    if await deadline.run(partial(store.find_by_ref, "wechat", ref)) is not None:
        return False
    return not await limiter.allow("sender", f"wechat:{report.openid}")


async def _keep(config: WechatConfig, inbound: Inbound, plain: bytes,
                at: datetime) -> str | None:
    """Spool what the store did not take in time; what the follower reads meanwhile. A report
    is spooled as a message; a menu click or LOCATION as the event's plaintext push, which
    the ingester hands back to :func:`service.respond` (a click's answer follows as a
    customer-service message)."""
    if isinstance(inbound, Report):
        await spool_late(config.spool_dir, inbound.intake, at, config.deadline)
        return DELAYED
    if not isinstance(inbound, MenuClick | LocationUpdate):
        return None  # nothing of it needs the store
    kept = WechatEvent(xml=plain.decode("utf-8"), at=at)
    await spool_inbound_late(config.spool_dir, kept.key, Channel.wechat, kept, config.deadline)
    return texts().wechat.event_delayed if isinstance(inbound, MenuClick) else None


router = APIRouter(tags=["channels"])


@router.get(PATH, response_class=PlainTextResponse)
async def wechat_verify(request: Request, config: WechatDep) -> PlainTextResponse:
    """WeChat's server-URL verification: echo ``echostr`` when the signature checks out."""
    token = _token(config)
    _check(token, request, config)
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post(PATH, response_class=Response,
             responses={200: {"content": {XML: {}}, "description": "passive reply"}})
async def wechat_push(request: Request, store: StoreDep, limiter: LimiterDep,
                      config: WechatDep, guard: ReplayDep) -> Response:
    """A message or event pushed by WeChat (plaintext, compatible or safe mode)."""
    token = _token(config)
    _check(token, request, config)
    q = request.query_params
    encrypt_type = q.get("encrypt_type", "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        raise ApiError(400, f"unknown encrypt_type '{encrypt_type[:20]}' (raw or aes)")
    encrypted = encrypt_type == "aes"
    if not config.accepts(encrypted):
        raise ApiError(403, f"this account is in {config.effective_mode.value} mode: "
                            f"{'encrypted' if encrypted else 'plaintext'} pushes are "
                            "refused (HOTLINE_WECHAT_MODE)", "wrong_mode")
    mode = _safe_mode(config, token) if encrypted else None
    now = time.time()
    try:
        body = await request.body()
    except ClientDisconnect:
        return Response(status_code=400)
    if not await guard.first_use(q.get("timestamp", ""), q.get("nonce", ""), body):
        log.warning("refused a replayed WeChat push (a signed timestamp and nonce reused "
                    "with another body)")
        raise ApiError(403, "this signature was already used for another message",
                       "replayed")
    try:
        fields = parse_fields(body)
        if mode is not None:
            body = envelope.open_envelope(
                mode, fields, q.get("msg_signature", ""), q.get("timestamp", ""),
                q.get("nonce", ""), now, config.max_clock_skew)
            fields = parse_fields(body)
        inbound = parse(body, fields)
    except BadXml as exc:
        raise ApiError(400, str(exc), "bad_xml") from None
    except signature.Refused as exc:
        raise ApiError(403, str(exc), "bad_signature") from None
    at = datetime.fromtimestamp(now, UTC)
    deadline = Deadline(config.deadline)  # WeChat waits 5 s, then retries three times
    text: str | None
    try:
        if isinstance(inbound, Report) and await _over_limit(store, limiter, inbound,
                                                             deadline):
            log.warning("wechat message from %s refused: over the sender's rate limit",
                        mask_openid(inbound.openid))
            text = texts().wechat.rate_limited
        else:
            text = await deadline.run(partial(service.respond, store, inbound, at))
    except Late:
        text = await _keep(config, inbound, body, at)
    if text is None:
        return PlainTextResponse(reply.SUCCESS)
    xml = reply.text_reply(inbound.account, inbound.openid, text, int(now))
    if mode is not None:
        xml = envelope.seal(mode, xml, str(int(now)), q.get("nonce") or None)
    return Response(xml, media_type=XML)
