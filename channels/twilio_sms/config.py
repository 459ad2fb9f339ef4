"""Settings of the Twilio SMS channel (built from ``HOTLINE_*`` by the composition room)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str | None = None  # HOTLINE_TWILIO_ACCOUNT_SID (media downloads)
    auth_token: str | None = None  # HOTLINE_TWILIO_AUTH_TOKEN; unset → channel disabled
    public_url: str | None = None  # HOTLINE_PUBLIC_URL: the URL Twilio signs

    @property
    def can_download_media(self) -> bool:
        return bool(self.account_sid and self.auth_token)
