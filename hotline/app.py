"""The FastAPI application factory: the gateway's HTTP face, assembled from every room.

Each room contributes routers built from its own config: the back-office API (router), one
router per text channel (channels). The objects routes depend on are put on ``app.state``
(read through :mod:`tickets.deps`): the store, the feed notifier, the media folder and the
rate limiter. Nothing is migrated here: ``hotline migrate`` (or ``run`` / ``dev-setup``) does it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from channels import deps as channel_deps
from channels.open311 import route as open311_route
from channels.twilio_sms import route as twilio_route
from channels.webform import loop_route, status_route
from channels.webform import route as webform_route
from channels.webform.imaging import PhotoWorkers
from channels.wechat import route as wechat_route
from channels.wechat.replay import ReplayGuard
from console import board_routes, desk_routes, grid_routes, rates_routes, ticket_routes
from console.ami import AmiConfig
from console.live_console import LiveConsole
from console.router_choices import RouterChoices
from console.routes import build_console_router
from console.routes import mount as mount_console
from console.state import Console
from hotline import apidocs, landing, metrics_http, phone_page
from hotline.bodylimit import BodyLimit
from hotline.channels_config import (
    open311_config,
    twilio_config,
    webform_config,
    wechat_config,
)
from hotline.console_config import console_config
from hotline.metrics_state import StateCollector
from hotline.nulguard import NulGuard
from hotline.readiness import Readiness
from hotline.requestlog import RequestLog
from hotline.settings import Settings
from hotline.wiring import open_store
from tickets import admission, api, httperrors
from tickets.feed import FeedNotifier
from tickets.ratelimit import RateLimiter
from tickets.store import Store

log = logging.getLogger(__name__)


def ami_config(settings: Settings) -> AmiConfig | None:
    """The console's AMI link, when ``HOTLINE_AMI_USERNAME`` and ``_SECRET`` are set."""
    if not settings.ami_username or settings.ami_secret is None:
        return None
    return AmiConfig(settings.ami_host, settings.ami_port, settings.ami_username,
                     settings.ami_secret.get_secret_value())


def create_app(settings: Settings, *, store: Store | None = None,
               redis_url: str | None = None) -> FastAPI:
    """The app over ``store`` (default: the settings' database). ``redis_url`` (default the
    settings') holds the shared rate limits and WeChat's replay memory."""
    if store is None:
        store = open_store(settings)
    redis = redis_url if redis_url is not None else settings.resolved_redis_url
    notifier = FeedNotifier(store.current_seq)
    store.on_change(notifier.notify)
    admission.configure(settings.max_intakes_in_flight)
    photos = PhotoWorkers(settings.photo_workers)
    wechat = wechat_config(settings)
    guard = ReplayGuard(redis or None, ttl=2 * wechat.max_clock_skew)
    limiter = RateLimiter(
        {"sender": settings.rate_limit_sender, "web": settings.rate_limit_web,
         "api": settings.rate_limit_api},
        redis or None, enabled=settings.rate_limits)

    console = console_config(settings)
    console_state = Console.over(store.db, console) if console is not None else None
    # the live board: one Redis subscriber and one AMI link per process (console/board_routes)
    live = (LiveConsole(store=store, people=console_state.people, redis_url=redis or None,
                        ami=ami_config(settings))
            if console_state is not None else None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        if live is not None:
            await live.start()
        try:
            yield
        finally:
            if live is not None:
                await live.close()
            await notifier.close()
            await guard.close()
            await limiter.aclose()
            photos.close()

    app = FastAPI(
        title="96010 intake gateway",
        version="1",
        description="Every channel of the 96010 hotline, one ticket stream for back office.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    apidocs.install(app)
    app.state.settings = settings
    app.state.store = store
    app.state.feed_notifier = notifier
    app.state.media_dir = settings.media_path
    app.state.limiter = limiter
    httperrors.install(app)
    # inside the body limit: it reads urlencoded forms whole; Open311 answers in its own shape
    app.add_middleware(NulGuard, refusal=open311_route.refusal, no_query=frozenset({
        "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/report": settings.max_upload_bytes,
                                  # the grid worker's photos
                                  "/console/grid/report": settings.max_upload_bytes,
                                  "/console/grid/note": settings.max_upload_bytes,
                                  "/console/desk/photos": settings.max_upload_bytes})
    app.add_middleware(RequestLog)
    metrics_http.install(app, StateCollector(store, redis or None),
                         settings.metrics_token.get_secret_value()
                         if settings.metrics_token else None)
    channel_deps.install(app, twilio=twilio_config(settings), wechat=wechat, replay=guard,
                         webform=webform_config(settings), photos=photos,
                         open311=open311_config(settings))
    app.state.console_live = live
    app.state.router_choices = RouterChoices.from_folder(settings.router_config_dir)
    app.include_router(api.router)
    app.include_router(twilio_route.router)
    app.include_router(wechat_route.router)
    app.include_router(webform_route.router)
    app.include_router(open311_route.router)
    app.include_router(status_route.router)
    app.include_router(loop_route.router)
    landing.install(app, console=console_state is not None)
    phone_page.install(app, settings)
    mount_console(app, console_state,
                  build_console_router(board=board_routes.router, tickets=ticket_routes.router,
                                       extra=[ticket_routes.media_router, desk_routes.router,
                                              rates_routes.router, grid_routes.router]))

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    ami_link = live.ami if live is not None else None
    readiness = Readiness(store, redis,
                          (lambda: ami_link.connected) if ami_link is not None else None)

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """Ready while the database answers; names each part (database, redis, asterisk)."""
        return await readiness.check()

    return app
