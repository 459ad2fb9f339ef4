"""FastAPI dependencies of the channels' routes: each channel's configuration and the
per-process services they share, put on ``app.state`` by the app factory (``hotline.app``,
through :func:`install`). Routes get them like the store (``tickets.deps``): as typed
parameters, so every route module has one shape — a module-level router whose handlers
declare what they need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Request

from channels.open311.config import Open311Config
from channels.twilio_sms.config import TwilioConfig
from channels.webform.config import WebformConfig
from channels.webform.imaging import PhotoWorkers
from channels.wechat.config import WechatConfig
from channels.wechat.replay import ReplayGuard

T = TypeVar("T")


def install(app: FastAPI, *, twilio: TwilioConfig | None = None,
            wechat: WechatConfig | None = None, replay: ReplayGuard | None = None,
            webform: WebformConfig | None = None, photos: PhotoWorkers | None = None,
            open311: Open311Config | None = None) -> None:
    """Put the channels' configuration and services on ``app`` (a channel left out answers
    503 "not configured", like one whose secret is unset)."""
    app.state.twilio = twilio or TwilioConfig()
    app.state.wechat = wechat or WechatConfig()
    app.state.wechat_replay = replay
    app.state.webform = webform or WebformConfig()
    app.state.photos = photos
    app.state.open311 = open311 or Open311Config()


def _from_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency reading ``app.state.<name>``, which :func:`install` put there."""

    def get(request: Request) -> T:
        value = getattr(request.app.state, name, None)
        if not isinstance(value, kind):
            raise RuntimeError(f"app.state.{name} is not set (channels.deps.install)")
        return value

    return get


TwilioDep = Annotated[TwilioConfig, Depends(_from_state("twilio", TwilioConfig))]
WechatDep = Annotated[WechatConfig, Depends(_from_state("wechat", WechatConfig))]
ReplayDep = Annotated[ReplayGuard, Depends(_from_state("wechat_replay", ReplayGuard))]
WebformDep = Annotated[WebformConfig, Depends(_from_state("webform", WebformConfig))]
Open311Dep = Annotated[Open311Config, Depends(_from_state("open311", Open311Config))]
PhotosDep = Annotated[PhotoWorkers, Depends(_from_state("photos", PhotoWorkers))]
