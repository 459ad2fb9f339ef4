"""RQ job: fetch an MMS picture from Twilio into the media store, after the webhook answered.

The webhook keeps each ``MediaUrlN`` as an attachment (url = Twilio's URL) and writes a
``media`` job into the outbox with the ticket. The job downloads the file with HTTP basic auth
(account SID, auth token), saves it content-addressed (:func:`router.media.save_bytes`) and
replaces the attachment by the saved one (``/api/v1/media/<sha256>.<ext>``, sha256, size).
Running it again changes nothing (the Twilio URL is no longer on the ticket).

Credentials are only ever sent to :data:`TWILIO_MEDIA_HOSTS` (Twilio redirects to its CDN;
httpx drops the Authorization header on a redirect to another origin).

The worker process installs the credentials once with :func:`install` (job arguments are
stored in the outbox and in Redis, so they never carry secrets).

WeChat media (``MediaId``) needs an access token from ``api.weixin.qq.com``; it is kept on the
ticket as ``wechat-media:<MediaId>`` and not fetched here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from router import media, runtime
from router.model import Ticket

log = logging.getLogger(__name__)

FETCH_JOB = "channels.media_jobs.fetch_twilio_media"
MEDIA_QUEUE = "media"
TWILIO_MEDIA_HOSTS = frozenset({"api.twilio.com"})
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = 30.0


class MediaNotConfigured(RuntimeError):
    pass


class MediaTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class MediaConfig:
    account_sid: str
    auth_token: str
    media_dir: Path
    allowed_hosts: frozenset[str] = TWILIO_MEDIA_HOSTS


_config: MediaConfig | None = None


def install(config: MediaConfig | None) -> None:
    """Give this process's jobs the Twilio credentials and the media folder (None: remove)."""
    global _config
    _config = config


def configured() -> MediaConfig:
    if _config is None:
        raise MediaNotConfigured(
            "Twilio media fetching is not configured in this worker: set "
            "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN "
            "(channels.media_jobs.install)"
        )
    return _config


def download(url: str, config: MediaConfig, client: httpx.Client | None = None) -> bytes:
    """The bytes at ``url`` (basic auth to Twilio hosts only; redirects followed)."""
    host = urlsplit(url).hostname or ""
    if host not in config.allowed_hosts:
        raise ValueError(f"refusing to send Twilio credentials to '{host}'")
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


def _find(message_sid: str, ticket_id: str) -> Ticket:
    store = runtime.store()
    if ticket_id:
        return store.get(ticket_id)
    ticket = store.find_by_ref("sms", message_sid)
    if ticket is None:
        raise LookupError(f"no SMS ticket for message {message_sid}")
    return ticket


def fetch_twilio_media(message_sid: str, media_url: str, content_type: str,
                       ticket_id: str = "") -> str:
    """Job: fetch ``media_url`` and put it on the ticket (``ticket_id``, or the SMS ticket of
    ``message_sid`` for a message that made a new ticket). Returns what it did."""
    config = configured()
    ticket = _find(message_sid, ticket_id)
    if not any(a.url == media_url for a in ticket.attachments):
        return "already fetched"
    data = download(media_url, config)
    saved = media.save_bytes(config.media_dir, data, content_type)

    def replace(t: Ticket, _seq: int, _at: datetime) -> Ticket | None:
        if not any(a.url == media_url for a in t.attachments):
            return None
        attachments = [saved if a.url == media_url else a for a in t.attachments]
        return t.model_copy(update={"attachments": attachments})

    runtime.store().change(ticket.id, replace)
    log.info("fetched MMS media of ticket %s: %s (%d bytes)", ticket.number, saved.url,
             len(data))
    return saved.url
