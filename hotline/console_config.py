"""The console's configuration from ``HOTLINE_*`` settings (composition only)."""

from __future__ import annotations

from datetime import timedelta

from console.config import ConsoleConfig
from hotline.settings import Settings
from transcription.models import ModelNotFound, locate


def console_config(settings: Settings) -> ConsoleConfig | None:
    """The console's configuration, or None (console disabled) without
    ``HOTLINE_CONSOLE_SECRET``."""
    if settings.console_secret is None or not settings.console_secret.get_secret_value():
        return None
    return ConsoleConfig(
        secret=settings.console_secret.get_secret_value(),
        sip_ws=settings.console_sip_ws,
        sip_domain=settings.console_sip_domain,
        idle=timedelta(minutes=settings.console_idle_minutes),
        lifetime=timedelta(hours=settings.console_session_hours),
        https_only=(settings.public_url or "").lower().startswith("https://"),
        speech_model=_speech_model(settings),
    )


def _speech_model(settings: Settings) -> str | None:
    """The model ``hotline agi`` recognises live calls with (the same lookup, no loading)."""
    try:
        return locate(settings.vosk_model, settings.data_dir).name
    except ModelNotFound:
        return None
