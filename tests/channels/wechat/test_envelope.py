"""Safe mode with wechatpy's crypto: a known ciphertext, round trips, forgeries refused."""

from __future__ import annotations

import time

import pytest
import xmltodict  # type: ignore[import-untyped]
from wechatpy.crypto import WeChatCrypto, _get_signature

from channels.wechat.envelope import SafeMode, open_envelope, seal, valid_aes_key
from channels.wechat.signature import Refused
from channels.wechat.xmlsafe import BadXml
from tests.channels.wechat.samples import TEXT

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
# PrpCrypto("test", app id "rust") with the 16-byte random prefix "1234567890123456"
# (a vector shared by wechatpy ports); the random prefix makes ciphertexts differ otherwise.
KNOWN_CIPHERTEXT = "9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY="


def test_known_ciphertext_opens() -> None:
    mode = SafeMode("123456", AES_KEY, "rust")
    sig = _get_signature("123456", "1411443780", "nonce", KNOWN_CIPHERTEXT)
    plain = open_envelope(mode, {"Encrypt": KNOWN_CIPHERTEXT}, sig, "1411443780", "nonce",
                          1411443780, 300)
    assert plain == b"test"


def test_round_trip_with_wechatpy_encrypt_message() -> None:
    mode = SafeMode("tok", AES_KEY, "wx0123456789abcdef")
    now = str(int(time.time()))
    sealed = WeChatCrypto("tok", AES_KEY, "wx0123456789abcdef").encrypt_message(
        TEXT.decode(), "n0nce", now)
    fields = xmltodict.parse(sealed)["xml"]
    plain = open_envelope(mode, {"Encrypt": fields["Encrypt"]}, fields["MsgSignature"], now,
                          "n0nce", float(now), 300)
    assert plain == TEXT


def test_sealed_reply_decrypts_with_wechatpy() -> None:
    mode = SafeMode("tok", AES_KEY, "wx0123456789abcdef")
    sealed = seal(mode, "<xml><Content>回复</Content></xml>", "1795700000", "abc")
    fields = xmltodict.parse(sealed)["xml"]
    assert fields["TimeStamp"] == "1795700000" and fields["Nonce"] == "abc"
    plain = WeChatCrypto("tok", AES_KEY, "wx0123456789abcdef").decrypt_message(
        sealed, fields["MsgSignature"], "1795700000", "abc")
    assert plain == "<xml><Content>回复</Content></xml>"


def _sealed(app_id: str = "wx0123456789abcdef") -> tuple[str, str, str]:
    now = str(int(time.time()))
    sealed = WeChatCrypto("tok", AES_KEY, app_id).encrypt_message(TEXT.decode(), "n", now)
    fields = xmltodict.parse(sealed)["xml"]
    return fields["Encrypt"], fields["MsgSignature"], now


def test_changed_ciphertext_wrong_signature_other_app_and_stale_are_refused() -> None:
    mode = SafeMode("tok", AES_KEY, "wx0123456789abcdef")
    enc, sig, now = _sealed()
    changed = enc[:10] + ("A" if enc[10] != "A" else "B") + enc[11:]
    with pytest.raises(Refused):
        open_envelope(mode, {"Encrypt": changed}, sig, now, "n", float(now), 300)
    with pytest.raises(Refused):
        open_envelope(mode, {"Encrypt": enc}, "0" * 40, now, "n", float(now), 300)
    with pytest.raises(Refused, match="timestamp"):
        open_envelope(mode, {"Encrypt": enc}, sig, now, "n", float(now) + 301, 300)
    other, other_sig, now = _sealed("wxaaaaaaaaaaaaaaaa")
    with pytest.raises(Refused, match="app id"):
        open_envelope(mode, {"Encrypt": other}, other_sig, now, "n", float(now), 300)


def test_signed_garbage_is_bad_xml_not_a_crash() -> None:
    mode = SafeMode("tok", AES_KEY, "wx0123456789abcdef")
    now = str(int(time.time()))
    for garbage in ("not base64!!", "QUJD"):
        sig = _get_signature("tok", now, "n", garbage)
        with pytest.raises(BadXml, match="decrypt"):
            open_envelope(mode, {"Encrypt": garbage}, sig, now, "n", float(now), 300)
    with pytest.raises(BadXml, match="Encrypt"):
        open_envelope(mode, {}, "x", now, "n", float(now), 300)


def test_aes_key_shape() -> None:
    assert valid_aes_key(AES_KEY)
    assert not valid_aes_key(AES_KEY[:-1])
    assert not valid_aes_key("short")
