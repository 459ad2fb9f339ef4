"""API keys with scopes, stored hashed. A key reads ``hk_<id>_<secret>``; only sha256(secret)
is kept (the secret is 32 random bytes, so a plain hash is enough), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tickets.db import Database
from tickets.tables import api_keys


class Scope(StrEnum):
    intake = "intake"
    read = "read"
    events = "events"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[Scope]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(*texts: str) -> frozenset[Scope]:
    """``"intake,read"`` (one or more such texts, e.g. a repeated ``--scope``) → scopes; an
    unknown name is a ValueError naming the valid ones."""
    names = [s.strip() for text in texts for s in text.replace(" ", ",").split(",") if s.strip()]
    valid = ", ".join(s.value for s in Scope)
    if not names:
        raise ValueError(f"no scope given; choose from: {valid}")
    try:
        return frozenset(Scope(n) for n in names)
    except ValueError:
        bad = [n for n in names if n not in Scope.__members__]
        raise ValueError(f"unknown scope {', '.join(bad)}; choose from: {valid}") from None


class DuplicateName(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an active API key is already named '{name}'; choose another name "
                         "or revoke that key first")


def create(db: Database, name: str, scopes: frozenset[Scope]) -> tuple[ApiKey, str]:
    """Create a key; return it and the plaintext token (shown once, never stored).
    :class:`DuplicateName` when an active key has that name."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    try:
        with db.write() as conn:
            conn.execute(
                api_keys.insert().values(
                    id=key_id,
                    name=name,
                    hash=_hash(secret),
                    scopes=",".join(sorted(s.value for s in scopes)),
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        raise DuplicateName(name) from None
    return ApiKey(key_id, name, scopes), f"hk_{key_id}_{secret}"


def verify(db: Database, token: str) -> ApiKey | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "hk":
        return None
    _, key_id, secret = parts
    with db.read() as conn:
        row = conn.execute(
            select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(row.hash, _hash(secret)):
        return None
    return ApiKey(row.id, row.name, frozenset(Scope(s) for s in row.scopes.split(",")))


def revoke(db: Database, key_id: str) -> bool:
    with db.write() as conn:
        result = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return result.rowcount == 1


def list_keys(db: Database) -> list[tuple[ApiKey, datetime, datetime | None]]:
    with db.read() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
    return [
        (ApiKey(r.id, r.name, frozenset(Scope(s) for s in r.scopes.split(","))),
         r.created_at, r.revoked_at)
        for r in rows
    ]
