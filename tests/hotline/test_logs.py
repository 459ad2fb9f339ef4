"""Logging: phone numbers and openids masked in every line (known answers), JSON lines with
level, logger and request id, one handler per process."""

from __future__ import annotations

import json
import logging

import pytest

from hotline import logs
from hotline.requestlog import request_id

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # 28 characters, WeChat's shape


@pytest.mark.parametrize(("text", "masked"), [
    # E.164, alone and in context
    ("+8613800138000", "+86138****8000"),
    ("from +8613800138000.", "from +86138****8000."),
    ("tel:+861065123456", "tel:+8610****3456"),
    ("sender=+14155552671 ok", "sender=+141****2671 ok"),
    # 11-digit Chinese mobiles
    ("13800138000", "138****8000"),
    ("caller 19912345678 rang", "caller 199****5678 rang"),
    ('{"phone": "15012345678"}', '{"phone": "150****5678"}'),
    # landlines with their area code, Chinese text around them
    ("电话01065123456请回电", "电话010****3456请回电"),
    ("0755-12345678", "0755-****5678"),
    # openid=... in query strings and key=value text, any case
    (f"GET /channels/wechat?openid={OPENID}&signature=ab12",
     "GET /channels/wechat?openid=oUpF…eS6o&signature=ab12"),
    (f"OpenID={OPENID}", "OpenID=oUpF…eS6o"),
    ("openid=short", "openid=****"),
    # bare openids
    (OPENID, "oUpF…eS6o"),
    (f"wechat:{OPENID}:17", "wechat:oUpF…eS6o:17"),
    (f"from '{OPENID}'", "from 'oUpF…eS6o'"),
    # mobiles with the country code but no '+', or with the international prefix 00
    ("8613800138000", "86138****8000"),
    ("from 8613800138000.", "from 86138****8000."),
    ("008613800138000", "0086138****8000"),
    ("tel:0086-13800138000", "tel:0086138****8000"),
    ("caller=0014155552671", "caller=00141****2671"),
    # mobiles written in groups, with or without the country code
    ("138 0013 8000", "138****8000"),
    ("138-0013-8000", "138****8000"),
    ("+86 138 0013 8000", "+86138****8000"),
    ("+86-138-0013-8000", "+86138****8000"),
    ("86 13800138000", "86138****8000"),
    ("0086 138 0013 8000", "0086138****8000"),
    ("电话138 0013 8000请回电", "电话138****8000请回电"),
    ("来电8613800138000", "来电86138****8000"),
    ("来电+14155552671", "来电+141****2671"),
    # several in one line
    (f"+8613800138000 and 13900139000 and {OPENID}",
     "+86138****8000 and 139****9000 and oUpF…eS6o"),
])
def test_mask_known_answers(text: str, masked: str) -> None:
    assert logs.mask(text) == masked
    assert logs.mask(masked) == masked  # masking twice changes nothing more


@pytest.mark.parametrize("text", [
    "ticket 2611300001 registered",  # a ticket number: YYMMDD + 4 digits
    "ticket 26113012345 registered",  # the 10,000th of a day: 11 digits, starts with the year
    "number=2611300001",
    "call 1795705400.1 at 1795705400",  # Asterisk unique id, Unix time
    "1795705400123",  # milliseconds
    "138001380001",  # 12 digits: no mobile number
    "2026-11-30 22:38:28,023 seq=1234567",
    "ticket 3bfa074d4e3646e4996eeda587c7e5f4",  # a ticket id
    "hk_3e9de2790e22_…",  # an API key id
    "[abcdef0123456789]",  # a request id whose hex holds a landline-like run
    "GET /api/v1/tickets 200 12.5ms",
    "overwrite_everything_in_the_27chars",  # a word starting with 'o', but not 28 long
])
def test_mask_leaves_what_is_not_personal(text: str) -> None:
    assert logs.mask(text) == text


def lines_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line]


def test_json_lines_carry_level_logger_and_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("INFO", "json")
    log = logging.getLogger("hotline.test")
    log.info("plain %s", "line")
    token = request_id.set("req-12345678")
    try:
        log.warning("sms from %s, openid %s", "+8613800138000", OPENID)
    finally:
        request_id.reset(token)
    try:
        raise ValueError(f"boom for 13800138000\nsecond line of {OPENID}")
    except ValueError:
        log.exception("failed")
    log.debug("not at INFO")
    records = [json.loads(line) for line in lines_of(capsys.readouterr().err)]
    assert len(records) == 3  # one JSON object per line, the traceback included
    first, second, third = records
    assert first["level"] == "INFO" and first["logger"] == "hotline.test"
    assert first["message"] == "plain line" and first["request_id"] == "-"
    assert "time" in first
    assert second["level"] == "WARNING" and second["request_id"] == "req-12345678"
    assert second["message"] == "sms from +86138****8000, openid oUpF…eS6o"
    assert third["level"] == "ERROR" and third["message"] == "failed"
    dumped = json.dumps(third, ensure_ascii=False)
    assert "ValueError" in dumped
    assert "13800138000" not in dumped and OPENID not in dumped  # masked in the traceback


def test_text_lines_are_masked_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info", "text")
    log = logging.getLogger("hotline.test")
    token = request_id.set("abcdef0123456789")
    try:
        log.info("reply to %s", "13800138000")
    finally:
        request_id.reset(token)
    [line] = lines_of(capsys.readouterr().err)
    assert line.endswith(" INFO hotline.test [abcdef0123456789]: reply to 138****8000")


def test_setup_replaces_its_handler_and_quiets_noisy_loggers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("INFO", "text")
    logs.setup("INFO", "json")
    logging.getLogger("hotline.test").info("once")
    assert len(lines_of(capsys.readouterr().err)) == 1  # not once per setup
    assert logging.getLogger().level == logging.INFO
    for name in ("httpx", "httpcore", "uvicorn.access"):
        assert logging.getLogger(name).level == logging.WARNING
    logs.setup("DEBUG", "text")
    assert logging.getLogger("httpx").level == logging.DEBUG
