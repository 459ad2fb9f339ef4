"""The HTTP routes of every text channel, assembled for the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter


@dataclass(frozen=True)
class ChannelsConfig:
    """What the channel routes need from settings (built by ``hotline.app``)."""

    public_url: str | None = None


def build_router(config: ChannelsConfig) -> APIRouter:
    return APIRouter()
