"""The people store on SQLite and PostgreSQL: adding, listing, disabling, passwords, logging in
with the lockout, rehashing, and the actor string of ticket history."""

from __future__ import annotations

from datetime import timedelta
from hashlib import md5

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from console import sip_digest
from console.passwords import Passwords, WeakPassword
from console.people import (
    DuplicateLogin,
    InvalidLogin,
    Outcome,
    People,
    PeopleError,
    Person,
    Role,
    UnknownLogin,
    actor_of,
    normalize_login,
)
from console.sessions import Sessions
from console.tables import console_sessions, login_failures
from console.tables import people as people_table
from tests.console.conftest import PASSWORD, Clock, fast_passwords
from tickets.db import Database


def test_add_makes_an_active_person_with_a_sip_endpoint(people: People) -> None:
    person = people.add("alice", "  张三 ", Role.operator, PASSWORD)
    assert person.login == "alice"
    assert person.display_name == "张三"
    assert person.role is Role.operator and not person.is_supervisor
    assert person.active
    assert person.sip_user == "op-alice"
    assert sip_digest.HA1.fullmatch(person.sip_ha1) and person.sip_desk_ha1 is None
    assert person.phone_kind == "webrtc" and person.desk_sip_user is None
    assert "sip_ha1" not in repr(person) and person.sip_ha1 not in repr(person)
    assert people.get(person.id) == person
    assert people.by_login("alice") == person
    assert people.by_sip_user("op-alice") == person
    assert people.get(person.id + 1000) is None
    assert people.by_login("bob") is None


def test_every_person_gets_their_own_sip_secret(people: People) -> None:
    a = people.add("alice", "张三", Role.operator, PASSWORD)
    b = people.add("bob", "李四", Role.supervisor, PASSWORD, "deskphone")
    assert a.sip_ha1 != b.sip_ha1
    assert b.is_supervisor and b.phone_kind == "deskphone"


def test_the_database_holds_no_plain_sip_secret(people: People, db: Database) -> None:
    """Only digests are stored: the desk phone's password, returned once, is in no column; the
    stored HA1 is md5(endpoint:realm:password) of the endpoint it registers as."""
    webrtc = people.enrol("alice", "张三", Role.operator, PASSWORD)
    desk = people.enrol("bob", "李四", Role.operator, PASSWORD, "deskphone")
    both = people.enrol("carol", "王五", Role.operator, PASSWORD, "both")
    assert webrtc.desk_password is None
    assert desk.desk_password is not None and both.desk_password is not None
    assert len(desk.desk_password) == 24 and desk.desk_password != both.desk_password
    with db.read() as conn:
        rows = {r._mapping["login"]: dict(r._mapping)
                for r in conn.execute(select(people_table)).all()}
    assert not any("secret" in column or column == "password" for column in rows["alice"])
    for login, shown in (("bob", desk.desk_password), ("carol", both.desk_password)):
        assert not any(shown in str(value) for value in rows[login].values()), login
    assert rows["bob"]["sip_ha1"] == md5(
        f"op-bob:hotline-96010:{desk.desk_password}".encode()).hexdigest()
    assert rows["bob"]["sip_desk_ha1"] is None
    assert rows["carol"]["sip_desk_ha1"] == md5(
        f"op-carol-desk:hotline-96010:{both.desk_password}".encode()).hexdigest()
    # the browser's own secret is another, random one: not the desk phone's
    assert rows["carol"]["sip_ha1"] != md5(
        f"op-carol:hotline-96010:{both.desk_password}".encode()).hexdigest()
    assert both.person.desk_sip_user == "op-carol-desk" and desk.person.desk_sip_user == "op-bob"


def test_new_sip_secrets_replace_every_digest(people: People) -> None:
    first = people.enrol("carol", "王五", Role.operator, PASSWORD, "both")
    again = people.new_sip_secrets("carol")
    assert again.desk_password is not None and again.desk_password != first.desk_password
    assert again.person.sip_ha1 != first.person.sip_ha1
    assert again.person.sip_desk_ha1 == md5(
        f"op-carol-desk:hotline-96010:{again.desk_password}".encode()).hexdigest()
    assert people.by_login("carol") == again.person
    browser_only = people.enrol("alice", "张三", Role.operator, PASSWORD)
    reset = people.new_sip_secrets("alice")
    assert reset.desk_password is None and reset.person.sip_ha1 != browser_only.person.sip_ha1
    with pytest.raises(UnknownLogin):
        people.new_sip_secrets("nobody")


def test_the_password_is_stored_as_an_argon2_hash(people: People, db: Database) -> None:
    people.add("alice", "张三", Role.operator, PASSWORD)
    with db.read() as conn:
        stored = conn.execute(select(people_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_list_is_everyone_by_login(people: People) -> None:
    people.add("carol", "王五", Role.operator, PASSWORD)
    people.add("alice", "张三", Role.supervisor, PASSWORD)
    people.disable("carol")
    assert [(p.login, p.active) for p in people.list()] == [("alice", True), ("carol", False)]


@pytest.mark.parametrize("login", ["", "Alice", "1abc", "a b", "al/ice", "x" * 33, "张三",
                                   "alice-desk", "a;b"])
def test_invalid_login_names_are_refused(people: People, login: str) -> None:
    with pytest.raises(InvalidLogin):
        people.add(login, "某人", Role.operator, PASSWORD)
    assert people.list() == []


def test_a_login_name_is_taken_once(people: People) -> None:
    people.add("alice", "张三", Role.operator, PASSWORD)
    with pytest.raises(DuplicateLogin, match="already called 'alice'"):
        people.add("alice", "另一个张三", Role.operator, PASSWORD)
    assert len(people.list()) == 1


@pytest.mark.parametrize("password", ["short", " " * 12, "x" * 257])
def test_weak_passwords_are_refused(people: People, password: str) -> None:
    with pytest.raises(WeakPassword):
        people.add("alice", "张三", Role.operator, password)
    assert people.list() == []


def test_bad_display_names_and_phone_kinds_are_refused(people: People) -> None:
    with pytest.raises(PeopleError):
        people.add("alice", "   ", Role.operator, PASSWORD)
    with pytest.raises(PeopleError):
        people.add("alice", "x" * 101, Role.operator, PASSWORD)
    with pytest.raises(PeopleError, match="phone kind"):
        people.add("alice", "张三", Role.operator, PASSWORD, "pager")  # type: ignore[arg-type]


def test_unknown_names_are_refused_by_changes(people: People) -> None:
    for change in (people.disable, people.enable):
        with pytest.raises(UnknownLogin):
            change("nobody")
    with pytest.raises(UnknownLogin):
        people.set_password("nobody", PASSWORD)


def test_actor_strings_name_role_and_login(people: People) -> None:
    operator = people.add("alice", "张三", Role.operator, PASSWORD)
    supervisor = people.add("bob", "李四", Role.supervisor, PASSWORD)
    assert actor_of(operator) == "operator:alice"
    assert actor_of(supervisor) == "supervisor:bob"


# ---------------------------------------------------------------------- logging in


def test_the_right_password_logs_in(people: People, alice: Person) -> None:
    attempt = people.attempt("alice", PASSWORD, "10.0.0.1")
    assert attempt.outcome is Outcome.ok
    assert attempt.person == alice
    assert people.verify(" ALICE ", PASSWORD) == alice  # typed names are normalised


def test_wrong_unknown_and_disabled_get_the_same_answer(people: People, alice: Person) -> None:
    people.add("bob", "李四", Role.operator, PASSWORD)
    people.disable("bob")
    answers = [people.attempt("alice", "wrong password!"),
               people.attempt("nobody", PASSWORD),
               people.attempt("bob", PASSWORD)]
    assert {a.outcome for a in answers} == {Outcome.invalid}
    assert all(a.person is None and a.until is None for a in answers)


def test_five_failures_lock_the_name_for_fifteen_minutes(people: People, alice: Person,
                                                         clock: Clock) -> None:
    for _ in range(5):
        assert people.attempt("alice", "wrong password!", "c1").outcome is Outcome.invalid
        clock.advance(minutes=1)
    locked = people.attempt("alice", PASSWORD, "c2")  # the right password, another address
    assert locked.outcome is Outcome.locked and locked.person is None
    fifth = clock.now - timedelta(minutes=1)
    assert locked.until == fifth + timedelta(minutes=15)
    clock.advance(minutes=13)
    assert people.attempt("alice", PASSWORD, "c2").outcome is Outcome.locked
    clock.advance(minutes=1)
    assert people.attempt("alice", PASSWORD, "c2").outcome is Outcome.ok


def test_refused_attempts_do_not_extend_the_lock(people: People, alice: Person,
                                                 clock: Clock) -> None:
    for _ in range(5):
        people.attempt("alice", "wrong password!")
    for _ in range(10):
        clock.advance(minutes=1)
        assert people.attempt("alice", "wrong password!").outcome is Outcome.locked
    clock.advance(minutes=5)
    assert people.attempt("alice", PASSWORD).outcome is Outcome.ok


def test_unknown_names_lock_the_same_way(people: People) -> None:
    for _ in range(5):
        assert people.attempt("ghost", "anything at all").outcome is Outcome.invalid
    assert people.attempt("ghost", "anything at all").outcome is Outcome.locked


def test_one_address_cannot_probe_many_names(people: People, alice: Person) -> None:
    for i in range(20):
        assert people.attempt(f"user{i}", "guess guess guess", "203.0.113.9").outcome \
            is Outcome.invalid
    assert people.attempt("alice", PASSWORD, "203.0.113.9").outcome is Outcome.locked
    assert people.attempt("alice", PASSWORD, "198.51.100.1").outcome is Outcome.ok


def test_a_good_login_forgets_the_names_failures(people: People, alice: Person,
                                                 db: Database) -> None:
    for _ in range(4):
        people.attempt("alice", "wrong password!")
    assert people.attempt("alice", PASSWORD).outcome is Outcome.ok
    for _ in range(4):
        assert people.attempt("alice", "wrong password!").outcome is Outcome.invalid
    with db.read() as conn:
        left = conn.execute(select(func.count()).select_from(login_failures)).scalar_one()
    assert left == 4


def test_old_failures_are_pruned(people: People, db: Database, clock: Clock) -> None:
    for _ in range(3):
        people.attempt("ghost", "anything at all")
    clock.advance(hours=1)
    people.attempt("other", "anything at all")
    with db.read() as conn:
        logins = conn.execute(select(login_failures.c.login)).scalars().all()
    assert logins == ["other"]


def test_a_login_rehashes_a_password_made_with_older_parameters(db: Database,
                                                                clock: Clock) -> None:
    old = People(db, fast_passwords(time_cost=1), clock=clock)
    old.add("alice", "张三", Role.operator, PASSWORD)
    new = People(db, fast_passwords(time_cost=2), clock=clock)
    with db.read() as conn:
        before = conn.execute(select(people_table.c.password_hash)).scalar_one()
    assert "t=1" in before
    assert new.verify("alice", PASSWORD) is not None
    with db.read() as conn:
        after = conn.execute(select(people_table.c.password_hash)).scalar_one()
    assert "t=2" in after and after != before
    assert new.verify("alice", PASSWORD) is not None
    assert old.verify("alice", PASSWORD) is not None  # the hash carries its parameters


# ---------------------------------------------------------------------- changes end sessions


def _sessions_of(db: Database, person: Person) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(console_sessions)
                                .where(console_sessions.c.person_id == person.id)).scalar_one())


def test_disabling_ends_sessions_and_logging_in(people: People, alice: Person,
                                                sessions: Sessions, db: Database) -> None:
    session = sessions.start(alice, "10.0.0.1")
    sessions.start(alice, "10.0.0.2")
    assert _sessions_of(db, alice) == 2
    disabled = people.disable("alice")
    assert not disabled.active
    assert _sessions_of(db, alice) == 0
    assert sessions.find(session.token) is None
    assert people.verify("alice", PASSWORD) is None
    assert people.enable("alice").active
    assert people.verify("alice", PASSWORD) == people.by_login("alice")


def test_a_new_password_ends_sessions(people: People, alice: Person, sessions: Sessions,
                                      db: Database) -> None:
    sessions.start(alice)
    people.set_password("alice", "a brand new password")
    assert _sessions_of(db, alice) == 0
    assert people.verify("alice", PASSWORD) is None
    assert people.verify("alice", "a brand new password") is not None
    with pytest.raises(WeakPassword):
        people.set_password("alice", "short")


def test_normalize_login() -> None:
    assert normalize_login("  Alice\t") == "alice"
    assert len(normalize_login("x" * 500)) == 64


def test_default_passwords_use_argon2_defaults(db: Database) -> None:
    store = People(db)
    assert store.passwords.hasher.time_cost == PasswordHasher().time_cost
    assert isinstance(store.passwords, Passwords)
