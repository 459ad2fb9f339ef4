"""Settings of the Twilio SMS channel (built from ``HOTLINE_*`` by the composition room)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str | None = None  # HOTLINE_TWILIO_ACCOUNT_SID (media downloads)
    auth_token: str | None = None  # HOTLINE_TWILIO_AUTH_TOKEN; unset → channel disabled
    public_url: str | None = None  # HOTLINE_PUBLIC_URL: the URL Twilio signs
    deadline: float = 10.0  # HOTLINE_SMS_DEADLINE: past it the message is spooled
    spool_dir: Path | None = None  # the fallback spool (HOTLINE_SPOOL_DIR)

    @property
    def can_download_media(self) -> bool:
        return bool(self.account_sid and self.auth_token)
