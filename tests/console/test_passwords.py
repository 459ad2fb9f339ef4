"""Passwords: argon2id hashes, verification that never raises, rehash on new parameters."""

from __future__ import annotations

import pytest

from console.passwords import MAX_LENGTH, MIN_LENGTH, WeakPassword, check_new
from tests.console.conftest import fast_passwords


def test_a_hash_verifies_its_password_only() -> None:
    passwords = fast_passwords()
    stored = passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")
    assert not passwords.verify(stored, "")


def test_damaged_hashes_and_huge_inputs_are_just_wrong() -> None:
    passwords = fast_passwords()
    assert not passwords.verify("not a hash", "whatever password")
    assert not passwords.verify("$argon2id$v=19$m=8,t=1,p=1$broken", "whatever password")
    stored = passwords.hash("x" * MAX_LENGTH)
    assert passwords.verify(stored, "x" * MAX_LENGTH)
    assert not passwords.verify(stored, "x" * (MAX_LENGTH + 1))


def test_new_parameters_ask_for_a_rehash() -> None:
    old, new = fast_passwords(time_cost=1), fast_passwords(time_cost=2)
    stored = old.hash("correct horse battery")
    assert not old.needs_rehash(stored)
    assert new.needs_rehash(stored)
    assert new.verify(stored, "correct horse battery")  # still verifies meanwhile
    assert new.needs_rehash("garbage")


def test_burn_does_a_verification_and_returns() -> None:
    fast_passwords().burn()


@pytest.mark.parametrize(("password", "why"), [
    ("x" * (MIN_LENGTH - 1), "too short"),
    ("x" * (MAX_LENGTH + 1), "too long"),
    (" " * MIN_LENGTH, "blank"),
])
def test_check_new_refuses(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_new(password)


def test_check_new_accepts_chinese_and_spaces() -> None:
    check_new("我的 密码 很长很长的")
    check_new("x" * MIN_LENGTH)
