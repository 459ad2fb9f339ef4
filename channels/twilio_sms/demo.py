"""A correctly signed sample webhook, for ``hotline demo`` and the tests."""

from __future__ import annotations

from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.verify import PATH, sign, signed_url

SERVICE_NUMBER = "+861065529601"


def sample_request(config: TwilioConfig, body: str, from_: str,
                   sid: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(path, headers, form fields) of a Twilio SMS webhook signed with ``config``."""
    if not config.auth_token or not config.public_url:
        raise ValueError("a signed sample needs HOTLINE_TWILIO_AUTH_TOKEN and HOTLINE_PUBLIC_URL")
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": config.account_sid or "AC" + "0" * 32,
        "From": from_,
        "To": SERVICE_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    headers = {"X-Twilio-Signature": sign(config.auth_token, signed_url(config.public_url), form)}
    return PATH, headers, form
