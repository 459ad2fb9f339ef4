"""The console's configuration refuses to exist without a secret, and hides it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.config import ConsoleConfig


def test_defaults_and_no_secret_in_repr() -> None:
    config = ConsoleConfig(secret="s" * 32)
    assert config.sip_ws is None and config.sip_domain == "hotline-96010.invalid"
    assert config.idle == timedelta(minutes=120) and config.lifetime == timedelta(hours=12)
    assert "s" * 32 not in repr(config)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="HOTLINE_CONSOLE_SECRET"):
        ConsoleConfig(secret="")
