"""FastAPI dependencies of the channels' routes: each channel's configuration and the
per-process services they share, put on ``app.state`` by the app factory (``hotline.app``,
through :func:`install`). Routes get them like the store (``tickets.deps``): as typed
parameters, so every route module has one shape — a module-level router whose handlers
declare what they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from channels.twilio_sms.config import TwilioConfig
from channels.webform.config import WebformConfig
from channels.webform.imaging import PhotoWorkers
from channels.wechat.config import WechatConfig
from channels.wechat.replay import ReplayGuard


def install(app: FastAPI, *, twilio: TwilioConfig | None = None,
            wechat: WechatConfig | None = None, replay: ReplayGuard | None = None,
            webform: WebformConfig | None = None, photos: PhotoWorkers | None = None) -> None:
    """Put the channels' configuration and services on ``app`` (a channel left out answers
    503 "not configured", like one whose secret is unset)."""
    app.state.twilio = twilio or TwilioConfig()
    app.state.wechat = wechat or WechatConfig()
    app.state.wechat_replay = replay
    app.state.webform = webform or WebformConfig()
    app.state.photos = photos


def get_twilio(request: Request) -> TwilioConfig:
    config: TwilioConfig = request.app.state.twilio
    return config


def get_wechat(request: Request) -> WechatConfig:
    config: WechatConfig = request.app.state.wechat
    return config


def get_replay(request: Request) -> ReplayGuard:
    guard: ReplayGuard | None = request.app.state.wechat_replay
    if guard is None:
        raise RuntimeError("the WeChat channel has no replay memory (channels.deps.install)")
    return guard


def get_webform(request: Request) -> WebformConfig:
    config: WebformConfig = request.app.state.webform
    return config


def get_photos(request: Request) -> PhotoWorkers:
    photos: PhotoWorkers | None = request.app.state.photos
    if photos is None:
        raise RuntimeError("the web form has no photo workers (channels.deps.install)")
    return photos


TwilioDep = Annotated[TwilioConfig, Depends(get_twilio)]
WechatDep = Annotated[WechatConfig, Depends(get_wechat)]
ReplayDep = Annotated[ReplayGuard, Depends(get_replay)]
WebformDep = Annotated[WebformConfig, Depends(get_webform)]
PhotosDep = Annotated[PhotoWorkers, Depends(get_photos)]
