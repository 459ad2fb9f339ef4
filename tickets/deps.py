"""FastAPI dependencies of every room's routes: the store, the feed notifier, the media folder
and API-key scopes. The app factory (``hotline.app``) puts the objects on ``app.state``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from tickets import apikeys
from tickets.apikeys import ApiKey, Scope
from tickets.feed import FeedNotifier
from tickets.httperrors import ApiError
from tickets.ratelimit import RateLimiter
from tickets.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_notifier(request: Request) -> FeedNotifier:
    notifier: FeedNotifier = request.app.state.feed_notifier
    return notifier


def get_media_dir(request: Request) -> Path:
    media_dir: Path = request.app.state.media_dir
    return media_dir


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


StoreDep = Annotated[Store, Depends(get_store)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
NotifierDep = Annotated[FeedNotifier, Depends(get_notifier)]
MediaDirDep = Annotated[Path, Depends(get_media_dir)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return token or request.headers.get("x-api-key", "")


def require(scope: Scope) -> Callable[[Request, Store, RateLimiter], Awaitable[ApiKey]]:
    """A dependency: the request's API key, which must have ``scope`` (401/403 otherwise) and
    be within its rate limit (429)."""

    async def check(request: Request, store: StoreDep, limiter: LimiterDep) -> ApiKey:
        token = bearer_token(request)
        if not token:
            raise ApiError(401, "an API key is required: 'Authorization: Bearer hk_...'")
        key = await run_in_threadpool(apikeys.verify, store.db, token)
        if key is None:
            raise ApiError(401, "unknown or revoked API key")
        if scope not in key.scopes:
            raise ApiError(403, f"this API key lacks the '{scope.value}' scope")
        if not await limiter.allow("api", key.id):
            raise ApiError(429, "too many requests with this API key; slow down",
                           headers={"Retry-After": "60"})
        return key

    return check
