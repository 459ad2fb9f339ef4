"""The media job: fetch an MMS picture from Twilio into the media store, after the webhook
answered.

The webhook keeps each ``MediaUrlN`` as an attachment (url = Twilio's URL) and writes one job
per picture into the outbox with the ticket change. The job downloads the file with HTTP basic
auth (account SID, auth token from the worker's context — job arguments are stored in the
outbox and in Redis, so they never carry secrets), saves it content-addressed
(:func:`tickets.media.save_bytes`) and replaces the attachment by the saved one
(``/api/v1/media/<sha256>.<ext>``, sha256, size). Running it again changes nothing (the Twilio
URL is no longer on the ticket).

Credentials are only ever sent to :data:`TWILIO_MEDIA_HOSTS` (Twilio redirects to its CDN;
httpx drops the Authorization header on a redirect to another origin).

WeChat media (``MediaId``) needs an access token from ``api.weixin.qq.com``; it is kept on the
ticket as ``wechat-media:<MediaId>`` and not fetched here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from channels.twilio_sms.config import TwilioConfig
from tickets import media
from tickets.jobcontext import JobContext
from tickets.jobs import job
from tickets.model import Ticket
from tickets.queues import QueueName

log = logging.getLogger(__name__)

TWILIO_MEDIA_HOSTS = frozenset({"api.twilio.com"})
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = 30.0


class MediaNotConfigured(RuntimeError):
    pass


class MediaTooLarge(ValueError):
    pass


class TwilioContext(JobContext, Protocol):
    """What the media job needs from the worker."""

    @property
    def twilio(self) -> TwilioConfig: ...

    @property
    def twilio_media_hosts(self) -> frozenset[str]: ...


def download(url: str, config: TwilioConfig, allowed_hosts: frozenset[str],
             client: httpx.Client | None = None) -> bytes:
    """The bytes at ``url`` (basic auth to Twilio hosts only; redirects followed)."""
    host = urlsplit(url).hostname or ""
    if host not in allowed_hosts:
        raise ValueError(f"refusing to send Twilio credentials to '{host}'")
    if not config.account_sid or not config.auth_token:
        raise MediaNotConfigured(
            "Twilio media fetching needs HOTLINE_TWILIO_ACCOUNT_SID and "
            "HOTLINE_TWILIO_AUTH_TOKEN in the worker's settings")
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        with client.stream("GET", url, auth=(config.account_sid, config.auth_token)) as r:
            r.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise MediaTooLarge(f"media larger than {MAX_BYTES} bytes: {url}")
                chunks.append(chunk)
            return b"".join(chunks)
    finally:
        if own:
            client.close()


@job(QueueName.media)
def fetch_twilio_media(ctx: TwilioContext, ticket_id: str, media_url: str,
                       content_type: str) -> str:
    """Fetch ``media_url`` and put it on the ticket in place of Twilio's URL."""
    ticket = ctx.store.get(ticket_id)
    if not any(a.url == media_url for a in ticket.attachments):
        return "already fetched"
    data = download(media_url, ctx.twilio, ctx.twilio_media_hosts)
    saved = media.save_bytes(ctx.media_dir, data, content_type)

    def replace(t: Ticket, _seq: int, _at: datetime) -> Ticket | None:
        if not any(a.url == media_url for a in t.attachments):
            return None
        attachments = [saved if a.url == media_url else a for a in t.attachments]
        return t.model_copy(update={"attachments": attachments})

    ctx.store.change(ticket.id, replace)
    log.info("fetched MMS media of ticket %s: %s (%d bytes)", ticket.number, saved.url,
             len(data))
    return saved.url
