"""Back-office HTTP API: the ticket feed, single tickets, status events and generic intake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from router import apikeys, media
from router.apikeys import ApiKey, Scope
from router.events import TicketEvent, apply_event
from router.feed import FeedNotifier, wait_for_tickets
from router.httperrors import ApiError
from router.model import (
    Attachment,
    Channel,
    Citizen,
    Intake,
    Kind,
    Location,
    Ticket,
    Transcript,
)
from router.status import IllegalTransition
from router.store import Store, TicketNotFound

MAX_WAIT = 30.0
MAX_LIMIT = 500

api = APIRouter(prefix="/api/v1", tags=["back office"])


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_notifier(request: Request) -> FeedNotifier:
    notifier: FeedNotifier = request.app.state.feed_notifier
    return notifier


def require(scope: Scope) -> Callable[..., object]:
    async def check(request: Request, store: Annotated[Store, Depends(get_store)]) -> ApiKey:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or request.headers.get("x-api-key", "")
        if not token:
            raise ApiError(401, "an API key is required: 'Authorization: Bearer hk_...'")
        key = await run_in_threadpool(apikeys.verify, store.db, token)
        if key is None:
            raise ApiError(401, "unknown or revoked API key")
        if scope not in key.scopes:
            raise ApiError(403, f"this API key lacks the '{scope.value}' scope")
        return key

    return check


StoreDep = Annotated[Store, Depends(get_store)]


class FeedPage(BaseModel):
    tickets: list[Ticket]
    next: int = Field(description="pass as 'after' to get the following page")


class IntakeIn(BaseModel):
    """A request from another system (grid handhelds, 12345 transfers)."""

    model_config = ConfigDict(extra="forbid")
    channel_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="the sender's own id for this request; a repeat returns the same ticket"
    )
    received_at: AwareDatetime | None = None
    citizen: Citizen = Field(default_factory=Citizen)
    kind: Kind = Kind.unknown
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    transcript: Transcript | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    location: Location | None = None


class IntakeAck(BaseModel):
    id: str
    number: str
    status: str
    created: bool


@api.get("/tickets", response_model=FeedPage,
         dependencies=[Depends(require(Scope.read))])
async def feed(
    store: StoreDep,
    notifier: Annotated[FeedNotifier, Depends(get_notifier)],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
) -> FeedPage:
    """Every ticket whose last change has ``seq > after``, in ``seq`` order (long-poll: wait)."""
    tickets = await wait_for_tickets(store, notifier, after, limit, wait)
    return FeedPage(tickets=tickets, next=tickets[-1].seq if tickets else after)


@api.get("/tickets/{ticket_id}", response_model=Ticket,
         dependencies=[Depends(require(Scope.read))])
async def get_ticket(ticket_id: str, store: StoreDep) -> Ticket:
    try:
        return await run_in_threadpool(store.get, ticket_id)
    except TicketNotFound as exc:
        raise ApiError(404, str(exc)) from None


@api.post("/tickets/{ticket_id}/events", response_model=Ticket,
          dependencies=[Depends(require(Scope.events))])
async def post_event(ticket_id: str, event: TicketEvent, store: StoreDep) -> Ticket:
    """Report progress: a status change of the loop, a note, category/department/priority."""

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        return apply_event(ticket, event, seq, at)

    try:
        return await run_in_threadpool(store.change, ticket_id, mutate)
    except TicketNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except IllegalTransition as exc:
        raise ApiError(409, str(exc), "illegal_transition") from None


@api.get("/media/{name}", dependencies=[Depends(require(Scope.read))],
         response_class=FileResponse)
async def get_media(name: str, request: Request) -> FileResponse:
    """An attachment kept by the gateway (recordings, photos), by its content address."""
    media_dir: Path = request.app.state.media_dir
    path = media.resolve(media_dir, name)
    if path is None:
        raise ApiError(404, f"no media file '{name}'")
    content_type = next(
        (ct for ct, ext in media.EXTENSIONS.items() if name.endswith("." + ext)),
        "application/octet-stream",
    )
    return FileResponse(path, media_type=content_type)


@api.post("/intake", response_model=IntakeAck, status_code=201)
async def post_intake(
    body: IntakeIn,
    store: StoreDep,
    response: Response,
    key: Annotated[ApiKey, Depends(require(Scope.intake))],
) -> IntakeAck:
    """Generic JSON intake. Idempotent per API key name and ``channel_ref``: a repeat answers
    200 with the same ticket instead of 201."""
    intake = Intake(
        channel=Channel.api,
        channel_ref=f"{key.name}:{body.channel_ref}",
        received_at=body.received_at or datetime.now(UTC),
        **body.model_dump(exclude={"received_at", "channel_ref"}),
    )
    result = await run_in_threadpool(store.submit, intake)
    if not result.created:
        response.status_code = 200
    t = result.ticket
    return IntakeAck(id=t.id, number=t.number, status=t.status.value, created=result.created)
