"""Which pushes an account accepts (HOTLINE_WECHAT_MODE), from its configuration alone."""

from __future__ import annotations

import pytest

from channels.wechat.config import Mode, WechatConfig
from tests.channels.wechat.conftest import AES_KEY, TOKEN


@pytest.mark.parametrize("aes_key,mode,effective", [
    (AES_KEY, None, Mode.safe),  # a key and no mode: safe (a plaintext push is a downgrade)
    (None, None, Mode.plain),
    (AES_KEY, Mode.compatible, Mode.compatible),
    (AES_KEY, Mode.plain, Mode.plain),
    (None, Mode.safe, Mode.safe),  # refused later for want of a key (503), never downgraded
])
def test_effective_mode(aes_key: str | None, mode: Mode | None, effective: Mode) -> None:
    assert WechatConfig(token=TOKEN, aes_key=aes_key, mode=mode).effective_mode is effective


@pytest.mark.parametrize("mode,plaintext,encrypted", [
    (Mode.safe, False, True),
    (Mode.compatible, True, True),
    (Mode.plain, True, False),
])
def test_accepts(mode: Mode, plaintext: bool, encrypted: bool) -> None:
    config = WechatConfig(token=TOKEN, aes_key=AES_KEY, mode=mode)
    assert (config.accepts(encrypted=False), config.accepts(encrypted=True)) == (
        plaintext, encrypted)
