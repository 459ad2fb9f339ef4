"""Logging for every ``hotline`` process: plain lines or JSON lines (``HOTLINE_LOG_FORMAT``),
each with the request id of the HTTP request being served, and no personal identifier.

Phone numbers and WeChat openids are masked by the modules that log them
(:mod:`tickets.masking`); :class:`MaskingFormatter` is the safety net under every handler, so a
number that reaches a log line by another way (a library's message, an exception text) is
masked too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable

from pythonjsonlogger.json import JsonFormatter

from hotline.requestlog import request_id
from tickets.masking import mask_openid, mask_phone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def _mask_grouped(m: re.Match[str]) -> str:
    """A number written with spaces or dashes, masked as if written in one piece."""
    return mask_phone(re.sub(r"[ -]", "", m.group()))


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # Chinese mobiles with the country code written any way (+86, 86, 0086) and in groups
    # (138 0013 8000, +86-138-0013-8000): before the patterns below, which need one piece
    (re.compile(r"(?<![0-9A-Za-z_+])(?:(?:\+|00)?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
                r"(?![0-9A-Za-z_])"),
     _mask_grouped),
    # any number with the international prefix 00 instead of '+' (0014155552671)
    (re.compile(r"(?<![0-9A-Za-z_+])00[1-9]\d{8,14}(?![0-9A-Za-z_])"),
     lambda m: mask_phone(m.group())),
    # E.164 (+8613800138000) and Chinese mobile numbers (13800138000)
    # (ASCII look-arounds: Chinese text right before a number is no word it belongs to)
    (re.compile(r"(?<![0-9A-Za-z_+])\+\d{7,15}(?!\d)"), lambda m: mask_phone(m.group())),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), lambda m: mask_phone(m.group())),
    # landlines in national form with their area code (01065123456, 0755-12345678); not
    # inside an ASCII word such as a hex request id (Chinese text around them is fine)
    (re.compile(r"(?<![0-9A-Za-z.])0\d{2,3}-?\d{7,8}(?![0-9A-Za-z.])"),
     lambda m: mask_phone(m.group())),
    # openid=... anywhere, and bare WeChat openids (28 characters starting with 'o')
    (re.compile(r"(openid=)([^&\s\"']+)", re.IGNORECASE),
     lambda m: m.group(1) + mask_openid(m.group(2))),
    (re.compile(r"(?<![\w-])o[\w-]{27}(?![\w-])"), lambda m: mask_openid(m.group())),
)


def mask(text: str) -> str:
    """``text`` with every phone number and openid masked."""
    for pattern, replace in _PATTERNS:
        text = pattern.sub(replace, text)
    return text


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class MaskingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger of this process (replacing earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    if fmt == "json":
        handler.setFormatter(MaskingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(MaskingFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = "DEBUG" if level.upper() == "DEBUG" else "WARNING"
    for noisy in ("httpx", "httpcore", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(quiet)
