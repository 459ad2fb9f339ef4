"""What a WeChat push does to the store and what the resident is told (synchronous; the route
runs it in a thread, the spool's ingester runs it for a push kept past the deadline:
``now`` is when the push came). Reports go through the shared threading rule; events touch
only the resident's ``channel_state`` — and never move it back: a kept click or location
older than one remembered since changes nothing."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from channels import closing, conversation
from channels.texts import texts
from channels.wechat import menu, state
from channels.wechat.parse import (
    Ignored,
    Inbound,
    LocationUpdate,
    MenuClick,
    Report,
    Subscribe,
)
from tickets.masking import mask_openid
from tickets.model import Intake, Kind, Location
from tickets.store import Store

log = logging.getLogger(__name__)

LOCATION_TTL = timedelta(hours=1)  # a LOCATION event older than this is not used
KIND_TTL = timedelta(minutes=30)  # a menu choice older than this is forgotten


def _fresh(entry: Any, now: datetime, ttl: timedelta) -> dict[str, Any] | None:
    """``entry`` when it is a remembered dict with an ``at`` no older than ``ttl``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("at"), str):
        return None
    try:
        return entry if now - datetime.fromisoformat(entry["at"]) <= ttl else None
    except (TypeError, ValueError):
        return None


def enrich(intake: Intake, memory: dict[str, Any], now: datetime) -> Intake:
    """``intake`` with the remembered location (if it has none) and menu kind applied."""
    update: dict[str, Any] = {}
    where = _fresh(memory.get("location"), now, LOCATION_TTL)
    if intake.location is None and where is not None:
        with contextlib.suppress(ValueError, KeyError):
            update["location"] = Location(lat=where["lat"], lon=where["lon"])
    chosen = _fresh(memory.get("kind"), now, KIND_TTL)
    if intake.kind is Kind.unknown and chosen is not None:
        with contextlib.suppress(ValueError, KeyError):
            update["kind"] = Kind(chosen["kind"])
    return intake.model_copy(update=update) if update else intake


def respond(store: Store, inbound: Inbound, now: datetime) -> str | None:
    """Apply ``inbound``; the text to answer with, or None for a bare "success"."""
    if isinstance(inbound, Report):
        answer = respond_report(store, inbound.intake, now)
        if isinstance(answer, closing.Replied):
            return answer.text
        return menu.acknowledgement(answer)
    if isinstance(inbound, Subscribe):
        return texts().wechat.welcome
    if isinstance(inbound, LocationUpdate):
        _remember(store, inbound.openid, "location", {
            "lat": inbound.lat, "lon": inbound.lon, "precision": inbound.precision}, now)
        return None
    if isinstance(inbound, MenuClick):
        return _menu(store, inbound, now)
    assert isinstance(inbound, Ignored)
    return None


def respond_report(store: Store, intake: Intake,
                   now: datetime) -> closing.Replied | conversation.Outcome:
    """What a resident's message does, live or kept by the spool (``now``: when it came):
    an opt-out, a status query or an answer gets its reply (:func:`channels.closing.respond`),
    any other message is filed with the remembered location and menu kind applied."""
    openid = intake.citizen.wechat_openid or ""
    memory = _seen(store, openid, now) if openid else {}
    return closing.respond(store, enrich(intake, memory, now),
                           lambda filed: _file(store, filed, memory))


def _seen(store: Store, openid: str, at: datetime) -> dict[str, Any]:
    """Remember when the follower last wrote (customer-service messages may reach them for
    48 h), never moving it back (a spooled message is older than a live one); their state."""
    memory = state.load(store.db, openid)
    last = memory.get("last_in")
    with contextlib.suppress(TypeError, ValueError):
        if isinstance(last, str) and datetime.fromisoformat(last) >= at:
            return memory
    return state.merge(store.db, openid, {"last_in": at.isoformat()})


def _file(store: Store, intake: Intake, memory: dict[str, Any]) -> conversation.Outcome:
    outcome = conversation.handle(store, intake)
    openid = intake.citizen.wechat_openid or ""
    if "kind" in memory and outcome.action is conversation.Action.new and not outcome.repeat:
        state.merge(store.db, openid, {"kind": None})
    log.info("wechat message from %s → ticket %s (%s%s)", mask_openid(openid),
             outcome.ticket.number, outcome.action.value, ", repeat" if outcome.repeat else "")
    return outcome


def _remember(store: Store, openid: str, name: str, value: dict[str, Any],
              at: datetime) -> None:
    """Remember ``value`` (as of ``at``) under ``name``, unless a later one is remembered."""
    known = state.load(store.db, openid).get(name)
    with contextlib.suppress(TypeError, ValueError, KeyError):
        if isinstance(known, dict) and datetime.fromisoformat(known["at"]) > at:
            return
    state.merge(store.db, openid, {name: {**value, "at": at.isoformat()}})


def _menu(store: Store, click: MenuClick, now: datetime) -> str:
    # a click opens WeChat's 48 h customer-service window like a message (WeChat's docs)
    _seen(store, click.openid, now)
    if click.key == menu.MENU_PROGRESS:
        latest = store.latest_for_citizen(f"wechat:{click.openid}")
        return menu.progress(latest, store.survivor_of(latest) if latest else None)
    kind = menu.MENU_KINDS.get(click.key)
    if kind is None:
        return texts().wechat.menu_unknown
    _remember(store, click.openid, "kind", {"kind": kind.value}, now)
    return menu.kind_prompt(kind)
