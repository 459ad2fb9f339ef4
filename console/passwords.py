"""Console passwords: argon2id through argon2-cffi's :class:`PasswordHasher`.

A stored hash carries its own parameters, so hashes made with older (weaker) parameters keep
verifying; :meth:`Passwords.needs_rehash` tells the caller to store a fresh hash after a
successful login. :meth:`Passwords.burn` does the work of one verification against a hash
nobody has, so a login name that does not exist costs the same time as a wrong password.
At most :data:`CONCURRENT` hashes are computed at once per process (each takes argon2's 64 MiB):
a burst of logins waits its turn instead of taking gigabytes.
"""

from __future__ import annotations

import contextlib
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# argon2 reads the whole input; a megabyte-long "password" is work nobody should do for free
MAX_LENGTH = 256
CONCURRENT = 4  # argon2 computations at once (about 256 MiB with the default profile)


class WeakPassword(ValueError):
    """A password that must not be set (too short, too long, blank)."""


def check_new(password: str) -> None:
    """Refuse a password a person may not choose; :class:`WeakPassword` names why."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password is too short: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password is too long: at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("the password is blank")


class Passwords:
    """Hash and verify with one :class:`PasswordHasher` (default: argon2-cffi's RFC 9106
    low-memory profile)."""

    def __init__(self, hasher: PasswordHasher | None = None,
                 concurrent: int = CONCURRENT) -> None:
        self.hasher = hasher or PasswordHasher()
        self._slots = threading.BoundedSemaphore(concurrent)
        self._nobody = self.hasher.hash("nobody has this password")

    def hash(self, password: str) -> str:
        with self._slots:
            return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """True when ``password`` matches ``stored``; False for a mismatch or a damaged hash."""
        if len(password) > MAX_LENGTH:
            self.burn()
            return False
        try:
            with self._slots:
                return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def burn(self) -> None:
        """One verification's worth of work, against a hash that matches nothing given."""
        with self._slots, contextlib.suppress(VerificationError):
            self.hasher.verify(self._nobody, "-")
