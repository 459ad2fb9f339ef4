"""Operators and supervisors: who may use the console, and their SIP endpoint.

Invariants:

* A login name is lower-case ASCII (``[a-z][a-z0-9_-]{0,31}``); what a person types at the
  login form is normalised the same way (:func:`normalize_login`) before anything looks at it.
* Every person has a SIP user ``op-<login>``: the PJSIP endpoint of ``pjsip-operators.conf``
  (console/pjsip.py) that the queue rings and the browser softphone registers as. Its SIP
  secret is kept only as the digest HA1 (console/sip_digest.py): a browser's is random and
  never known to anyone (the page gets the HA1); a desk phone's password is made by
  :meth:`People.enrol` or :meth:`People.new_sip_secrets` and returned once, to be shown. The SIP
  secret is not the login password.
* People are never deleted, only disabled: a disabled person cannot log in, their sessions end
  at once, and their endpoint leaves ``pjsip-operators.conf``. Ticket history keeps naming them
  (:func:`actor_of`).
* :meth:`People.attempt` answers a wrong password, an unknown name and a disabled person the
  same way and with the same work (one argon2 verification), and counts every failure towards
  the lockout of the name typed and of the client address (console/lockout.py).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from console import lockout, sip_digest
from console.passwords import Passwords, check_new
from console.tables import console_sessions, people
from tickets.db import Database

LOGIN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
SIP_PREFIX = "op-"
# a desk phone beside the browser is op-<login>-desk (console/pjsip.py)
DESK_SUFFIX = "-desk"
PhoneKind = Literal["webrtc", "deskphone", "both"]
PHONE_KINDS: tuple[str, ...] = get_args(PhoneKind)


class Role(StrEnum):
    operator = "operator"  # the district center's 话务员
    supervisor = "supervisor"  # the district center's 班长 (supervision, 督办)
    street = "street"  # a street sub-center's desk, bound to one street code
    department = "department"  # a department's desk, bound to one department code
    grid = "grid"  # a grid worker (网格员), bound to one or more grid cells


# the roles of the district center (the board, the inbox, every ticket)
CENTER_ROLES = frozenset({Role.operator, Role.supervisor})
# the destination kind of a desk's unit (tickets.model.Destination ids: street:DS, dept:...)
UNIT_PREFIX = {Role.street: "street:", Role.department: "dept:", Role.grid: "grid:"}
UNIT_CODE = {
    Role.street: re.compile(r"^[A-Z][A-Z0-9]{0,15}$"),
    Role.department: re.compile(r"^[a-z0-9][a-z0-9.\-]{0,63}$"),
    Role.grid: re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$"),
}
MAX_UNITS = 20


@dataclass(frozen=True)
class Person:
    id: int
    login: str
    display_name: str
    role: Role
    active: bool
    sip_user: str
    # md5(op-<login>:realm:secret) of the endpoint op-<login> (console/sip_digest.py)
    sip_ha1: str = field(repr=False)
    phone_kind: PhoneKind
    # the person's units as destination ids: ("street:DS",), ("dept:dept.x",) or
    # ("grid:DC-DHM-0101", ...); empty for the center's roles
    units: tuple[str, ...] = ()
    # the same of op-<login>-desk, the desk phone beside the browser (phone "both"), else None
    sip_desk_ha1: str | None = field(default=None, repr=False)

    @property
    def desk_sip_user(self) -> str | None:
        """The endpoint a desk phone registers as: op-<login> (phone ``deskphone``),
        op-<login>-desk (``both``), None (browser only)."""
        if self.phone_kind == "deskphone":
            return self.sip_user
        if self.phone_kind == "both":
            return self.sip_user + DESK_SUFFIX
        return None

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.supervisor

    @property
    def is_center(self) -> bool:
        """Works at the district center: sees the board, the inbox and every ticket."""
        return self.role in CENTER_ROLES

    @property
    def is_desk(self) -> bool:
        """A street's or a department's desk: sees its unit's tickets only."""
        return self.role in (Role.street, Role.department)

    @property
    def cells(self) -> tuple[str, ...]:
        """A grid worker's grid cells (codes)."""
        prefix = UNIT_PREFIX[Role.grid]
        return tuple(u.removeprefix(prefix) for u in self.units if u.startswith(prefix))


def units_of(role: Role, codes: Sequence[str]) -> tuple[str, ...]:
    """The destination ids of a person of ``role`` bound to ``codes`` (the codes' shape is
    checked here; whether they exist in the router's configuration is the caller's check,
    ``hotline operator add`` does it). :class:`PeopleError` naming the problem."""
    clean = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if role in CENTER_ROLES:
        if clean:
            raise PeopleError(f"a {role.value} works for the whole district: no --unit")
        return ()
    if not clean:
        raise PeopleError(f"a {role.value} needs --unit (the {_UNIT_WORD[role]} code)")
    if role is not Role.grid and len(clean) > 1:
        raise PeopleError(f"a {role.value} desk has exactly one unit")
    if len(clean) > MAX_UNITS:
        raise PeopleError(f"at most {MAX_UNITS} grid cells per person")
    for code in clean:
        if not UNIT_CODE[role].match(code):
            raise PeopleError(f"'{code[:80]}' is not a {_UNIT_WORD[role]} code")
    return tuple(UNIT_PREFIX[role] + c for c in clean)


_UNIT_WORD = {Role.street: "street", Role.department: "department", Role.grid: "grid cell"}


def actor_of(person: Person) -> str:
    """Who a change was made by, as ticket history records it: ``operator:<login>`` or
    ``supervisor:<login>``."""
    return f"{person.role.value}:{person.login}"


def sip_user_of(login: str) -> str:
    return f"{SIP_PREFIX}{login}"


def normalize_login(text: str) -> str:
    """What was typed at the login form, as the key of lookups and of the lockout (a NUL,
    which PostgreSQL refuses in text and no login name has, becomes U+FFFD)."""
    return text.strip().lower()[:64].replace("\x00", "\ufffd")


class PeopleError(ValueError):
    """A change that cannot be made; the message names why and what to do."""


class InvalidLogin(PeopleError):
    def __init__(self, login: str) -> None:
        super().__init__(f"'{login}' is not a valid login name: 1-32 characters, lower-case "
                         "letters, digits, '-' or '_', starting with a letter, not ending in "
                         f"'{DESK_SUFFIX}'")


class DuplicateLogin(PeopleError):
    def __init__(self, login: str) -> None:
        super().__init__(f"someone is already called '{login}' (see: hotline operator list)")


class UnknownLogin(PeopleError):
    def __init__(self, login: str) -> None:
        super().__init__(f"nobody is called '{login}' (see: hotline operator list)")


class Outcome(StrEnum):
    ok = "ok"
    invalid = "invalid"  # wrong password, unknown name or disabled person: never told apart
    locked = "locked"  # too many failures for this name or from this address


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    person: Person | None = None
    until: datetime | None = None  # when locked: when the lock ends


def _now() -> datetime:
    return datetime.now(UTC)


def person_from_row(row: Row[Any]) -> Person:
    """A :class:`Person` from a row holding the columns of ``people``."""
    m = row._mapping
    kind = str(m["phone_kind"])
    return Person(id=int(m["id"]), login=str(m["login"]), display_name=str(m["display_name"]),
                  role=Role(m["role"]), active=bool(m["active"]), sip_user=str(m["sip_user"]),
                  sip_ha1=str(m["sip_ha1"]),
                  phone_kind=kind if kind in PHONE_KINDS else "webrtc",  # type: ignore[arg-type]
                  units=tuple(str(m["units"] or "").split()),
                  sip_desk_ha1=None if m["sip_desk_ha1"] is None else str(m["sip_desk_ha1"]))


@dataclass(frozen=True)
class SipSecrets:
    """A person's new SIP secrets: the HA1s to store and the desk phone's password, which is
    shown once and kept nowhere (None: no desk phone)."""

    ha1: str
    desk_ha1: str | None
    desk_password: str | None

    @classmethod
    def make(cls, login: str, phone_kind: str) -> SipSecrets:
        user = sip_user_of(login)
        if phone_kind == "deskphone":
            password = sip_digest.desk_password()
            return cls(sip_digest.ha1(user, password), None, password)
        browser = sip_digest.ha1(user, sip_digest.browser_secret())
        if phone_kind == "both":
            password = sip_digest.desk_password()
            return cls(browser, sip_digest.ha1(user + DESK_SUFFIX, password), password)
        return cls(browser, None, None)


@dataclass(frozen=True)
class Added:
    """A new person and their desk phone's SIP password (None: no desk phone), to show once."""

    person: Person
    desk_password: str | None


def _display_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > 100:
        raise PeopleError("the display name must have 1-100 characters")
    return name


class People:
    """The people store over the ticket database."""

    def __init__(self, db: Database, passwords: Passwords | None = None, *,
                 clock: Callable[[], datetime] = _now,
                 login_policy: lockout.Policy = lockout.LOGIN,
                 client_policy: lockout.Policy = lockout.CLIENT) -> None:
        self.db = db
        self.passwords = passwords or Passwords()
        self.clock = clock
        self.login_policy = login_policy
        self.client_policy = client_policy

    # ------------------------------------------------------------------ changes

    def add(self, login: str, display_name: str, role: Role, password: str,
            phone_kind: PhoneKind = "webrtc", units: Sequence[str] = ()) -> Person:
        """A new, active person with fresh SIP secrets (:meth:`enrol`, without the desk
        phone's password)."""
        return self.enrol(login, display_name, role, password, phone_kind, units).person

    def enrol(self, login: str, display_name: str, role: Role, password: str,
              phone_kind: PhoneKind = "webrtc", units: Sequence[str] = ()) -> Added:
        """A new, active person with fresh SIP secrets, and their desk phone's password to
        show once. :class:`InvalidLogin`, :class:`DuplicateLogin`,
        :class:`~console.passwords.WeakPassword`; ``units`` are the codes a desk or grid worker
        is bound to (:func:`units_of`)."""
        bound = units_of(Role(role), units)
        if not LOGIN.match(login) or login.endswith(DESK_SUFFIX):
            raise InvalidLogin(login)
        if phone_kind not in PHONE_KINDS:
            raise PeopleError(f"unknown phone kind '{phone_kind}'; choose from: "
                              f"{', '.join(PHONE_KINDS)}")
        name = _display_name(display_name)
        check_new(password)
        digest = self.passwords.hash(password)
        sip = SipSecrets.make(login, phone_kind)
        now = self.clock()
        try:
            with self.db.write() as conn:
                person_id = conn.execute(
                    people.insert().values(
                        login=login, display_name=name, role=Role(role).value, active=True,
                        password_hash=digest, sip_user=sip_user_of(login),
                        sip_ha1=sip.ha1, sip_desk_ha1=sip.desk_ha1, phone_kind=phone_kind,
                        units=" ".join(bound), created_at=now, updated_at=now,
                    ).returning(people.c.id)).scalar_one()
        except IntegrityError:
            raise DuplicateLogin(login) from None
        return Added(self._must(int(person_id)), sip.desk_password)

    def new_sip_secrets(self, login: str) -> Added:
        """New SIP secrets for every endpoint of the person: the browser's page gets its new
        HA1 when it is next loaded, the desk phone needs the new password returned (shown once).
        """
        with self.db.write() as conn:
            person_id = self._id(conn, login)
            kind = conn.execute(select(people.c.phone_kind)
                                .where(people.c.id == person_id)).scalar_one()
            sip = SipSecrets.make(login, str(kind))
            conn.execute(update(people).where(people.c.id == person_id)
                         .values(sip_ha1=sip.ha1, sip_desk_ha1=sip.desk_ha1,
                                 updated_at=self.clock()))
        return Added(self._must(person_id), sip.desk_password)

    def disable(self, login: str) -> Person:
        """Disable a person and end every session they have."""
        return self._set_active(login, False)

    def enable(self, login: str) -> Person:
        return self._set_active(login, True)

    def _set_active(self, login: str, active: bool) -> Person:
        with self.db.write() as conn:
            person_id = self._id(conn, login)
            conn.execute(update(people).where(people.c.id == person_id)
                         .values(active=active, updated_at=self.clock()))
            if not active:
                conn.execute(delete(console_sessions)
                             .where(console_sessions.c.person_id == person_id))
        return self._must(person_id)

    def set_password(self, login: str, password: str) -> Person:
        """A new password; the person's sessions end (they log in again with it)."""
        check_new(password)
        digest = self.passwords.hash(password)
        with self.db.write() as conn:
            person_id = self._id(conn, login)
            conn.execute(update(people).where(people.c.id == person_id)
                         .values(password_hash=digest, updated_at=self.clock()))
            conn.execute(delete(console_sessions)
                         .where(console_sessions.c.person_id == person_id))
        return self._must(person_id)

    def _id(self, conn: Connection, login: str) -> int:
        found = conn.execute(select(people.c.id).where(people.c.login == login)).scalar()
        if found is None:
            raise UnknownLogin(login)
        return int(found)

    def _must(self, person_id: int) -> Person:
        person = self.get(person_id)
        assert person is not None
        return person

    # ------------------------------------------------------------------ reading

    def get(self, person_id: int) -> Person | None:
        with self.db.read() as conn:
            row = conn.execute(select(people).where(people.c.id == person_id)).first()
        return person_from_row(row) if row is not None else None

    def by_login(self, login: str) -> Person | None:
        with self.db.read() as conn:
            row = conn.execute(select(people).where(people.c.login == login)).first()
        return person_from_row(row) if row is not None else None

    def by_sip_user(self, sip_user: str) -> Person | None:
        """The person whose endpoint is ``sip_user`` (``op-<login>``), e.g. the queue member
        a call was connected to."""
        with self.db.read() as conn:
            row = conn.execute(select(people).where(people.c.sip_user == sip_user)).first()
        return person_from_row(row) if row is not None else None

    def list(self) -> builtins.list[Person]:
        """Everyone, active or not, by login name."""
        with self.db.read() as conn:
            rows = conn.execute(select(people).order_by(people.c.login)).all()
        return [person_from_row(r) for r in rows]

    # ------------------------------------------------------------------ logging in

    def attempt(self, login: str, password: str, client: str = "") -> Attempt:
        """Check a login, counting failures towards the lockout; see the module docstring."""
        key = normalize_login(login)
        client = client[:64]
        now = self.clock()
        with self.db.write() as conn:
            lockout.prune(conn, now, keep=max(self.login_policy.horizon,
                                              self.client_policy.horizon))
            check = lockout.begin(conn, key, client, now, login_policy=self.login_policy,
                                  client_policy=self.client_policy)
        if check.attempt is None:
            return Attempt(Outcome.locked, until=check.until)
        with self.db.read() as conn:
            row = conn.execute(select(people).where(people.c.login == key)).first()
        if row is None:
            self.passwords.burn()
            return Attempt(Outcome.invalid)
        stored = str(row._mapping["password_hash"])
        if not self.passwords.verify(stored, password) or not row._mapping["active"]:
            return Attempt(Outcome.invalid)
        fresh = self.passwords.hash(password) if self.passwords.needs_rehash(stored) else None
        with self.db.write() as conn:
            lockout.succeeded(conn, key)
            if fresh is not None:
                conn.execute(update(people).where(people.c.id == row._mapping["id"],
                                                  people.c.password_hash == stored)
                             .values(password_hash=fresh))
        return Attempt(Outcome.ok, person_from_row(row))

    def verify(self, login: str, password: str, client: str = "") -> Person | None:
        """The person when ``login``/``password`` are right and not locked out, else None."""
        return self.attempt(login, password, client).person
