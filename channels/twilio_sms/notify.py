"""SMS to residents through Twilio's REST API, with the official ``twilio`` client.

The API's base URL is ``HOTLINE_TWILIO_API_URL`` (Twilio's by default; the tests point it at a
local server speaking Twilio's protocol), the sender ``HOTLINE_TWILIO_FROM``. Every message
asks Twilio for delivery reports at ``<HOTLINE_PUBLIC_URL>/channels/twilio/status?n=<id>``
(:mod:`channels.twilio_sms.status`), naming the notification, so even a message whose answer
was lost on the way back is known by its report.

:meth:`TwilioSender.send` returns Twilio's MessageSid or raises :class:`SendFailed`, which says
whether the message certainly did not leave (Twilio answered with an error, or could not be
reached) — safe to retry — or might have (the answer timed out).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from channels.twilio_sms.status import PATH as STATUS_PATH

DEFAULT_API_URL = "https://api.twilio.com"
TIMEOUT = 15.0
# Twilio error codes that no retry can fix (invalid or unreachable "To", blocked, opted out
# at the carrier): the notification is dead at once
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006})


def _never_connected(exc: requests.ConnectionError) -> bool:
    """The request never reached Twilio (refused, no route, connect timeout) — as opposed to a
    connection lost after the request went out."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, NewConnectionError)


class SendFailed(Exception):
    def __init__(self, message: str, *, certain: bool, retryable: bool,
                 code: int | None = None) -> None:
        super().__init__(message)
        self.certain = certain  # the message certainly did not leave
        self.retryable = retryable
        self.code = code


@dataclass(frozen=True)
class TwilioSenderConfig:
    account_sid: str
    auth_token: str
    from_: str  # HOTLINE_TWILIO_FROM
    api_url: str = DEFAULT_API_URL  # HOTLINE_TWILIO_API_URL
    public_url: str | None = None  # HOTLINE_PUBLIC_URL: where the status callbacks go
    timeout: float = TIMEOUT


def status_callback(public_url: str | None, notification_id: int) -> str | None:
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}{STATUS_PATH}?{urlencode({'n': notification_id})}"


class TwilioSender:
    """Sends one SMS per call; the client and its HTTP session are kept between messages."""

    def __init__(self, config: TwilioSenderConfig) -> None:
        self.config = config
        self.client = Client(config.account_sid, config.auth_token,
                             http_client=TwilioHttpClient(timeout=config.timeout))
        self.client.api.base_url = config.api_url.rstrip("/")

    def send(self, to: str, body: str, notification_id: int, *, step: str = "",
             number: str = "") -> str:
        callback = status_callback(self.config.public_url, notification_id)
        try:
            if callback:
                message = self.client.messages.create(to=to, from_=self.config.from_,
                                                      body=body, status_callback=callback)
            else:
                message = self.client.messages.create(to=to, from_=self.config.from_,
                                                      body=body)
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_CODES or exc.status in (400, 401, 403, 404)
            raise SendFailed(f"Twilio answered {exc.status} (code {exc.code}): {exc.msg}",
                             certain=True, retryable=not permanent, code=exc.code) from None
        except requests.ConnectionError as exc:
            certain = _never_connected(exc)
            raise SendFailed(f"Twilio {'unreachable' if certain else 'connection lost'}: "
                             f"{type(exc).__name__}", certain=certain, retryable=True) from None
        except requests.Timeout:
            raise SendFailed(f"Twilio did not answer in {self.config.timeout} s",
                             certain=False, retryable=True) from None
        if not message.sid:
            raise SendFailed("Twilio's answer has no MessageSid", certain=False, retryable=True)
        return str(message.sid)
