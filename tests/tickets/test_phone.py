"""E.164 normalization shared by every channel (known answers)."""

from __future__ import annotations

import pytest

from tickets.phone import to_e164


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800138000", "+8613800138000"),
    (" +86 138-0013-8000 ", "+8613800138000"),
    ("010 6500 1234", "+861065001234"),
    ("+1 202-456-1111", "+12024561111"),
    ("+8612345", None),  # too short to be valid
    ("+442079460958", "+442079460958"),
    ("96010", None),
    ("TWILIO", None),
    ("", None),
])
def test_to_e164(raw: str, expected: str | None) -> None:
    assert to_e164(raw) == expected
