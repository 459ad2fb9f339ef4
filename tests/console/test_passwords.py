"""Passwords: argon2id hashes, verification that never raises, rehash on new parameters."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pytest
from argon2 import PasswordHasher

from console.passwords import MAX_LENGTH, MIN_LENGTH, Passwords, WeakPassword, check_new
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


class Counting(PasswordHasher):
    """A hasher that records how many verifications run at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


def test_a_burst_of_logins_is_hashed_a_few_at_a_time() -> None:
    hasher = Counting()
    passwords = Passwords(hasher, concurrent=2)
    stored = passwords.hash("correct horse battery")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: passwords.verify(stored, "wrong password!"), range(16)))
    assert results == [False] * 16
    assert hasher.most == 2  # the burst waited its turn, two at a time
