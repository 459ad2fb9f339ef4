"""Safe mode (AES): open an encrypted push and seal a passive reply, with wechatpy's crypto.

The push's ``msg_signature`` is checked here (constant time, fresh timestamp) before wechatpy
decrypts; wechatpy then checks the AES padding and the app id inside the ciphertext.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from channels.wechat import signature
from channels.wechat.xmlsafe import BadXml


@dataclass(frozen=True)
class SafeMode:
    token: str
    aes_key: str  # EncodingAESKey, 43 characters
    app_id: str

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


def valid_aes_key(aes_key: str) -> bool:
    try:
        WeChatCrypto("t", aes_key, "a")
    except (AssertionError, ValueError):
        return False
    return len(aes_key) == 43


def open_envelope(mode: SafeMode, fields: dict[str, str], msg_signature: str, timestamp: str,
                  nonce: str, now: float, max_skew: int) -> bytes:
    """The plaintext XML inside ``fields["Encrypt"]``; :class:`~signature.Refused` if forged."""
    encrypted = fields.get("Encrypt", "")
    if not encrypted:
        raise BadXml("safe mode: the body has no <Encrypt> element")
    signature.check(mode.token, msg_signature, timestamp, nonce, now, max_skew, encrypted)
    try:
        plain = mode.crypto().decrypt_message({"Encrypt": encrypted}, msg_signature.strip().lower(),
                                              timestamp, nonce)
    except InvalidAppIdException:
        raise signature.Refused("the message was encrypted for another app id") from None
    except InvalidSignatureException:
        raise signature.Refused("the signature does not match") from None
    except Exception as exc:  # bad base64, bad padding: wechatpy raises several kinds
        raise BadXml(f"safe mode: the ciphertext does not decrypt ({type(exc).__name__})") from None
    return plain.encode() if isinstance(plain, str) else bytes(plain)


def seal(mode: SafeMode, reply_xml: str, timestamp: str, nonce: str | None = None) -> str:
    """The encrypted passive reply (``<xml><Encrypt/><MsgSignature/>…</xml>``)."""
    return str(mode.crypto().encrypt_message(reply_xml, nonce or secrets.token_hex(8), timestamp))
