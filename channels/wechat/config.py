"""Settings of the WeChat official-account channel (built from ``HOTLINE_*`` by the
composition room)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Mode(StrEnum):
    """Which pushes are accepted (WeChat's 消息加解密方式)."""

    safe = "safe"  # 安全模式: only AES-encrypted pushes
    compatible = "compatible"  # 兼容模式: encrypted and plaintext (while switching over)
    plain = "plain"  # 明文模式: plaintext only


@dataclass(frozen=True)
class WechatConfig:
    token: str | None = None  # HOTLINE_WECHAT_TOKEN; unset → channel disabled
    app_id: str | None = None
    aes_key: str | None = None  # 43 chars (EncodingAESKey)
    # HOTLINE_WECHAT_MODE; unset: safe when an AES key is configured, else plain
    mode: Mode | None = None
    max_clock_skew: int = 300  # seconds; older or newer timestamps are refused
    deadline: float = 4.5  # HOTLINE_WECHAT_DEADLINE (WeChat waits 5 s): past it, spooled
    spool_dir: Path | None = None  # the fallback spool (HOTLINE_SPOOL_DIR)

    @property
    def effective_mode(self) -> Mode:
        if self.mode is not None:
            return self.mode
        return Mode.safe if self.aes_key else Mode.plain

    def accepts(self, encrypted: bool) -> bool:
        mode = self.effective_mode
        return mode is Mode.compatible or (mode is Mode.safe) == encrypted
