"""Known answers for WeChat signatures (wechatpy's own vectors), freshness, constant time."""

from __future__ import annotations

import pytest
from wechatpy.utils import check_signature

from channels.wechat.signature import Refused, check, check_fresh, digest

# wechatpy's tests: check_signature('test', ..., '1410685589', 'test')
URL_SIG = ("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
# wechatpy's enterprise tests: msg_signature over token, timestamp, nonce, echostr
ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
MSG_SIG = ("123456", "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425")


def test_url_signature_vector() -> None:
    token, sig, ts, nonce = URL_SIG
    check_signature(token, sig, ts, nonce)  # wechatpy agrees with the vector
    assert digest(token, ts, nonce) == sig
    check(token, sig, ts, nonce, float(ts) + 10, 300)


def test_msg_signature_vector() -> None:
    token, sig, ts, nonce = MSG_SIG
    check(token, sig, ts, nonce, float(ts), 300, ECHO)
    with pytest.raises(Refused, match="does not match"):
        check(token, sig, ts, "437374424", float(ts), 300, ECHO)


def test_one_changed_byte_in_the_ciphertext_is_refused() -> None:
    token, sig, ts, nonce = MSG_SIG
    with pytest.raises(Refused):
        check(token, sig, ts, nonce, float(ts), 300, "5" + ECHO[1:])


def test_wrong_token_is_refused() -> None:
    _, sig, ts, nonce = URL_SIG
    with pytest.raises(Refused, match="does not match"):
        check("tesT", sig, ts, nonce, float(ts), 300)


def test_uppercase_hex_is_accepted_missing_is_refused() -> None:
    token, sig, ts, nonce = URL_SIG
    check(token, sig.upper(), ts, nonce, float(ts), 300)
    with pytest.raises(Refused, match="missing"):
        check(token, "", ts, nonce, float(ts), 300)


@pytest.mark.parametrize("now,ok", [(1000, True), (1300, True), (700, True), (1301, False),
                                    (699, False)])
def test_freshness_window(now: float, ok: bool) -> None:
    if ok:
        check_fresh("1000", now, 300)
    else:
        with pytest.raises(Refused, match="300 s"):
            check_fresh("1000", now, 300)


@pytest.mark.parametrize("ts", ["", "abc", "-5", "1.5", " 1000", "1000\n"])
def test_bad_timestamps(ts: str) -> None:
    with pytest.raises(Refused, match="timestamp"):
        check_fresh(ts, 1000, 300)


@pytest.mark.parametrize("ts", [
    "9" * 13,  # longer than any timestamp until the year 33658
    "9" * 309,  # before: int() then float arithmetic → OverflowError
    "9" * 4301,  # before: int() past Python's 4300-digit limit → ValueError
    "²", "¹²³⁴",  # str.isdigit() says yes, int() says no
    "１７９５７０００００", "١٧٩٥٧٠٠٠٠٠",  # full-width and Arabic-Indic digits
], ids=["13-digits", "309-digits", "4301-digits", "superscript", "superscripts",
        "full-width", "arabic-indic"])
def test_absurd_timestamps_are_refused_not_crashes(ts: str) -> None:
    now = 1795700000.0  # a float, like time.time(): int - float is where 309 digits overflowed
    with pytest.raises(Refused, match="timestamp"):
        check_fresh(ts, now, 300)
    with pytest.raises(Refused, match="timestamp"):
        check("token", "0" * 40, ts, "nonce", now, 300)


def test_stale_but_correctly_signed_is_refused() -> None:
    token, sig, ts, nonce = URL_SIG
    with pytest.raises(Refused, match="timestamp"):
        check(token, sig, ts, nonce, float(ts) + 301, 300)
