"""Back-office HTTP API: the ticket feed, single tickets, status events and generic intake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from tickets import admission, media
from tickets.apikeys import ApiKey, Scope
from tickets.deps import MediaDirDep, NotifierDep, StoreDep, require
from tickets.events import KindRefused, StaleEvent, TicketEvent, apply_event, digest
from tickets.feed import wait_for_tickets
from tickets.httperrors import ApiError, validation_details
from tickets.model import Channel, Intake, IntakeBody, Printable, Ticket
from tickets.receipts import EventIdReused, Receipt
from tickets.status import IllegalTransition
from tickets.store import HistoryFull, MergeRefused, TicketNotFound

MAX_WAIT = 30.0
MAX_LIMIT = 500
MAX_SEQ = 2**63 - 1

router = APIRouter(prefix="/api/v1", tags=["back office"])


class FeedPage(BaseModel):
    tickets: list[Ticket]
    next: int = Field(description="pass as 'after' to get the following page")


class IntakeIn(IntakeBody):
    """A request from another system (grid handhelds, 12345 transfers)."""

    # the ticket's channel_ref is "<key id>:<this>", at most 200 characters
    channel_ref: Annotated[str, StringConstraints(min_length=1, max_length=180), Printable] = (
        Field(description="the sender's own id for this request; a repeat returns the same "
                          "ticket"))
    received_at: AwareDatetime | None = None

    @field_validator("received_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC (tickets/timestamps.py): a time with no UTC equivalent (year 1 east
        of Greenwich) is refused here rather than failing in the store."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("'received_at' has no UTC equivalent") from None

    @model_validator(mode="after")
    def _has_text(self) -> IntakeIn:
        if not self.text.strip():
            raise ValueError("'text' must say what the request is about")
        return self


class IntakeAck(BaseModel):
    id: str
    number: str
    status: str
    created: bool


@router.get("/tickets", response_model=FeedPage,
         dependencies=[Depends(require(Scope.read))])
async def feed(
    store: StoreDep,
    notifier: NotifierDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, allow_inf_nan=False)] = 0,
) -> FeedPage:
    """Every ticket whose last change has ``seq > after``, in ``seq`` order (long-poll: wait)."""
    tickets = await wait_for_tickets(store, notifier, after, limit, wait)
    return FeedPage(tickets=tickets, next=tickets[-1].seq if tickets else after)


@router.get("/tickets/{ticket_id}", response_model=Ticket,
         dependencies=[Depends(require(Scope.read))])
async def get_ticket(ticket_id: str, store: StoreDep) -> Ticket:
    try:
        return await run_in_threadpool(store.get, ticket_id)
    except TicketNotFound as exc:
        raise ApiError(404, str(exc)) from None


@router.post("/tickets/{ticket_id}/events", response_model=Ticket)
async def post_event(ticket_id: str, event: TicketEvent, store: StoreDep,
                     key: Annotated[ApiKey, Depends(require(Scope.events))]) -> Ticket:
    """Report progress: a status change of the loop, a note, category/department/priority.
    ``event_id`` is the sending key's own: a repeat answers 200 and changes nothing, the same
    id for another event on the ticket is 409 ``event_id_reused``."""
    receipt = None
    if event.event_id:
        receipt = Receipt(key.id, event.event_id, digest(event))
        # the history shows whose id it was; keys' ids are hex without ':'
        event = event.model_copy(update={"event_id": f"{key.id}:{event.event_id}"})

    def apply() -> Ticket:
        return store.change(ticket_id, lambda t, seq, at: apply_event(t, event, seq, at),
                            receipt=receipt)

    try:
        return await run_in_threadpool(apply)
    except TicketNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except MergeRefused as exc:
        if exc.conflict:
            raise ApiError(409, str(exc), "merge_conflict") from None
        raise ApiError(422, str(exc)) from None
    except EventIdReused as exc:
        raise ApiError(409, str(exc), "event_id_reused") from None
    except IllegalTransition as exc:
        raise ApiError(409, str(exc), "illegal_transition") from None
    except StaleEvent as exc:
        raise ApiError(409, str(exc), "stale") from None
    except KindRefused as exc:
        raise ApiError(409, str(exc), "kind_refused") from None
    except HistoryFull as exc:
        raise ApiError(409, str(exc), "history_full") from None


@router.get("/media/{name}", dependencies=[Depends(require(Scope.read))],
         response_class=FileResponse)
async def get_media(name: str, media_dir: MediaDirDep) -> FileResponse:
    """An attachment kept by the gateway (recordings, photos), by its content address."""
    path = media.resolve(media_dir, name)
    if path is None:
        raise ApiError(404, f"no media file '{name[:80]}'")
    return FileResponse(path, media_type=media.content_type_of(name))


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema with its local ``#/$defs/…`` references replaced by their definitions:
    inside an OpenAPI document those references would resolve against the document's root,
    where they do not exist (the intake models are not recursive)."""
    defs: dict[str, Any] = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: walk(v) for k, v in node.items() if k != "$ref"}
                return {**walk(defs[ref.removeprefix("#/$defs/")]), **rest}
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_INTAKE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": inlined(IntakeIn.model_json_schema())}},
    }
}


async def _admitted() -> AsyncIterator[None]:
    """A place among the process's intakes in flight (:mod:`tickets.admission`), taken before
    anything else of the request — the API key's check waits for the thread pool and the
    database like the write does — and given back when the request is done."""
    if not admission.INTAKES.enter():
        raise ApiError(503, "too many intakes in progress; retry after the time given",
                       "overloaded",
                       headers={"Retry-After": str(admission.RETRY_AFTER_SECONDS)})
    try:
        yield
    finally:
        admission.INTAKES.leave()


@router.post("/intake", response_model=IntakeAck, status_code=201, openapi_extra=_INTAKE_BODY)
async def post_intake(
    _admission: Annotated[None, Depends(_admitted)],
    request: Request,
    store: StoreDep,
    response: Response,
    key: Annotated[ApiKey, Depends(require(Scope.intake))],
) -> IntakeAck:
    """Generic JSON intake. Idempotent per API key and ``channel_ref``: a repeat answers 200
    with the same ticket instead of 201. The key is checked before the body is read. With
    ``HOTLINE_MAX_INTAKES_IN_FLIGHT`` intakes of this process in the store already, 503
    ``overloaded`` with ``Retry-After`` (nothing is written; retry)."""
    try:
        raw = await request.body()
    except ClientDisconnect:  # the body limit refused it (413 already sent) or the client left
        return Response(status_code=400)  # type: ignore[return-value]
    try:
        body = IntakeIn.model_validate_json(raw)
    except ValidationError as exc:
        details = validation_details(exc.errors())
        if any(d["type"] == "json_invalid" for d in details):
            raise ApiError(400, "the body is not valid JSON (UTF-8)", "invalid_json",
                           details) from None
        raise ApiError(422, "the request does not match the schema", "invalid",
                       details) from None
    intake = Intake(
        channel=Channel.api,
        # the key's id is unique and has no ':' — names may repeat across revoked keys
        channel_ref=f"{key.id}:{body.channel_ref}",
        received_at=body.received_at or datetime.now(UTC),
        **body.model_dump(exclude={"received_at", "channel_ref"}),
    )
    result = await run_in_threadpool(store.submit, intake)
    if not result.created:
        response.status_code = 200
    t = result.ticket
    return IntakeAck(id=t.id, number=t.number, status=t.status.value, created=result.created)
