"""Server-side console sessions and their cookie.

Invariants:

* A session is a random 32-byte token. The database keeps only ``sha256(token)``
  (``console_sessions.token_hash``); the browser keeps the token in a cookie signed with the
  console secret (itsdangerous), so a forged or altered cookie is refused before any lookup.
* A session ends at logout (its row is deleted), when its person is disabled or changes
  password (console/people.py deletes their rows), after ``idle`` without a request and at the
  latest ``lifetime`` after login. An ended session's row is deleted when it is next seen.
* The cookie is HttpOnly, SameSite=Strict, path ``/console``, Secure whenever the request came
  over HTTPS (also behind a trusted reverse proxy: uvicorn's ``forwarded_allow_ips`` makes the
  request's scheme the proxy's) and always when the public URL is https
  (``ConsoleConfig.https_only``), and has no expiry of its own (it dies with the browser).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, insert, select, update
from starlette.requests import Request
from starlette.responses import Response

from console import csrf
from console.config import ConsoleConfig
from console.lockout import utc
from console.people import Person, person_from_row
from console.tables import console_sessions, people
from tickets.db import Database

COOKIE = "hotline_console"
COOKIE_PATH = "/console"
# last_seen_at is written at most this often (a page makes several requests a second)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ConsoleSession:
    token: str = field(repr=False)
    person: Person
    csrf_token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def is_https(request: Request) -> bool:
    return request.url.scheme in ("https", "wss")


class Sessions:
    """Sessions over the ticket database, with the cookie that carries them."""

    def __init__(self, db: Database, config: ConsoleConfig, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self._signer = URLSafeTimedSerializer(config.secret, salt="hotline-console-session")

    # ------------------------------------------------------------------ the rows

    def start(self, person: Person, client: str = "") -> ConsoleSession:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.config.lifetime
        with self.db.write() as conn:
            conn.execute(insert(console_sessions).values(
                token_hash=_hash(token), person_id=person.id, created_at=now,
                last_seen_at=now, expires_at=expires, client=client[:64]))
        return ConsoleSession(token, person, csrf.for_session(self.config.secret, token),
                              now, expires)

    def find(self, token: str, *, touch: bool = True) -> ConsoleSession | None:
        """The live session of ``token`` (its person active), or None; an ended one is
        deleted. ``touch=False``: only look (an open event stream is not a request that keeps
        the session from idling out)."""
        key = _hash(token)
        now = self.clock()
        with self.db.read() as conn:
            row = conn.execute(
                select(people, console_sessions.c.created_at.label("session_created_at"),
                       console_sessions.c.last_seen_at, console_sessions.c.expires_at)
                .join_from(console_sessions, people,
                           people.c.id == console_sessions.c.person_id)
                .where(console_sessions.c.token_hash == key)).first()
        if row is None:
            return None
        m = row._mapping
        person = person_from_row(row)
        last_seen, expires = utc(m["last_seen_at"]), utc(m["expires_at"])
        if not person.active or now >= expires or now - last_seen >= self.config.idle:
            self.end(token)
            return None
        if touch and now - last_seen >= TOUCH_EVERY:
            with self.db.write() as conn:
                conn.execute(update(console_sessions)
                             .where(console_sessions.c.token_hash == key)
                             .values(last_seen_at=now))
        return ConsoleSession(token, person, csrf.for_session(self.config.secret, token),
                              utc(m["session_created_at"]), expires)

    def end(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(console_sessions)
                         .where(console_sessions.c.token_hash == _hash(token)))

    def end_all(self, person_id: int) -> int:
        """End every session of a person; how many there were."""
        with self.db.write() as conn:
            result = conn.execute(delete(console_sessions)
                                  .where(console_sessions.c.person_id == person_id))
        return int(result.rowcount)

    def sweep(self) -> int:
        """Delete sessions past their absolute or idle limit; how many."""
        now = self.clock()
        with self.db.write() as conn:
            result = conn.execute(delete(console_sessions).where(
                (console_sessions.c.expires_at <= now)
                | (console_sessions.c.last_seen_at <= now - self.config.idle)))
        return int(result.rowcount)

    # ------------------------------------------------------------------ the cookie

    def cookie_value(self, session: ConsoleSession) -> str:
        return self._signer.dumps(session.token)

    def token_of(self, cookie: str | None) -> str | None:
        """The token in a cookie we signed (and not older than a session may live)."""
        if not cookie:
            return None
        try:
            token = self._signer.loads(cookie, max_age=int(self.config.lifetime.total_seconds()))
        except BadSignature:
            return None
        return token if isinstance(token, str) and 0 < len(token) <= 100 else None

    def secure(self, request: Request) -> bool:
        """Whether the console's cookies are sent with ``Secure`` on this request."""
        return self.config.https_only or is_https(request)

    def set_cookie(self, response: Response, request: Request, session: ConsoleSession) -> None:
        response.set_cookie(COOKIE, self.cookie_value(session), path=COOKIE_PATH,
                            httponly=True, samesite="strict", secure=self.secure(request))

    def clear_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                               secure=self.secure(request))
