"""The FastAPI application factory: the gateway's HTTP face."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from channels.http import build_router as channel_routes
from hotline.bodylimit import BodyLimit
from hotline.channels_config import channels_config
from hotline.settings import Settings
from router import httperrors
from router.api import api
from router.db import Database
from router.feed import FeedNotifier
from router.migrate import upgrade
from router.store import Store

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, store: Store | None = None, migrate: bool = True) -> FastAPI:
    if store is None:
        store = Store(Database(settings.resolved_database_url), timezone=settings.timezone)
    if migrate:
        upgrade(store.db)
    notifier = FeedNotifier()
    store.on_change(notifier.notify)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        yield

    app = FastAPI(
        title="96010 intake gateway",
        version="1",
        description="Every channel of the 96010 hotline, one ticket stream for back office.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.feed_notifier = notifier
    app.state.media_dir = settings.media_path
    httperrors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/report": settings.max_upload_bytes})
    app.include_router(api)
    app.include_router(channel_routes(channels_config(settings)))

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        def ping() -> None:
            with store.db.read() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception:  # any failure means not ready; details go to the log, not the caller
            log.exception("readiness check: the database does not answer")
            return JSONResponse({"status": "unavailable", "database": "not reachable"}, 503)
        return JSONResponse({"status": "ready"})

    return app
