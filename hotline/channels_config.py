"""Settings → the configuration the channel routes receive."""

from __future__ import annotations

from channels.http import ChannelsConfig
from hotline.settings import Settings


def channels_config(settings: Settings) -> ChannelsConfig:
    return ChannelsConfig(public_url=settings.public_url)
