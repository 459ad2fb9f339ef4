"""WeChat signatures and timestamp freshness, compared in constant time.

WeChat signs every push with ``signature = sha1(sorted(token, timestamp, nonce))`` and, in safe
mode, the ciphertext with ``msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))``.
wechatpy's signer computes the digests; it compares with ``!=`` and ignores the timestamp, so
the comparison (:func:`hmac.compare_digest`) and the freshness window are done here.
"""

from __future__ import annotations

import hmac

from wechatpy.utils import WeChatSigner


class Refused(ValueError):
    """A signature or timestamp that does not check out (answered with 403)."""


def digest(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def check_fresh(timestamp: str, now: float, max_skew: int) -> None:
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a 500)
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Refused("'timestamp' is missing or not a number of seconds")
    if abs(now - int(timestamp)) > max_skew:
        raise Refused(f"'timestamp' is more than {max_skew} s away from the gateway's clock")


def check(token: str, signature: str, timestamp: str, nonce: str, now: float,
          max_skew: int, *extra: str) -> None:
    """Refuse unless ``signature`` signs token, timestamp, nonce (and ``extra``) and the
    timestamp is within ``max_skew`` seconds of ``now``."""
    check_fresh(timestamp, now, max_skew)
    if not signature:
        raise Refused("the signature is missing")
    expected = digest(token, timestamp, nonce, *extra)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise Refused("the signature does not match")
