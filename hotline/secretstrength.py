"""How strong a secret must be outside development: long enough and hard to guess.

Every secret the gateway signs or checks signatures with is refused in production when it is
shorter than its setting's minimum or when zxcvbn (Dropbox's password strength estimator)
finds it guessable in fewer than 10^N tries: repeats (``aaaa…``), sequences (``0123…``), keyboard
walks, words and dates are all cheap to guess however long they are. A secret made by
``openssl rand -hex 32`` passes with a wide margin (about 10^31 guesses for 32 characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zxcvbn import zxcvbn

# zxcvbn refuses longer input (its matching is quadratic); a secret whose first 72 characters
# are strong is strong
_ZXCVBN_MAX = 72
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+")


@dataclass(frozen=True)
class Rule:
    min_length: int
    min_guesses_log10: float
    how: str  # how to make a good one
    max_length: int | None = None
    alphabet: re.Pattern[str] | None = None


_RANDOM_32 = Rule(32, 24, "use at least 32 random characters, e.g. `openssl rand -hex 32`")
RULES: dict[str, Rule] = {
    "console_secret": _RANDOM_32,
    "metrics_token": _RANDOM_32,
    "web_secret": _RANDOM_32,
    "webhooks": _RANDOM_32,
    "twilio_auth_token": Rule(32, 24, "copy the Auth Token of the Twilio console (32 "
                                      "characters)"),
    # WeChat takes 3–32 letters and digits for the token and generates the 43-character key
    "wechat_token": Rule(24, 20, "use 24–32 random letters and digits (WeChat allows no "
                                 "more), e.g. `openssl rand -hex 16`", 32, _ALNUM),
    "wechat_aes_key": Rule(43, 24, "use the 43-character EncodingAESKey WeChat's console "
                                   "generates", 43, _BASE64),
    # it travels in the dialplan's AGI() URL: letters and digits only
    "agi_secret": Rule(24, 20, "use 24 or more random letters and digits, e.g. "
                               "`openssl rand -hex 16`", None, _ALNUM),
    "ami_secret": Rule(16, 14, "use at least 16 random characters, e.g. "
                               "`openssl rand -hex 16`"),
}


def weakness(secret: str, rule: Rule) -> str | None:
    """Why ``secret`` is too weak for ``rule`` (a few words), or None when it is strong."""
    if len(secret) < rule.min_length:
        return f"is too short ({len(secret)} characters, at least {rule.min_length})"
    if rule.max_length is not None and len(secret) > rule.max_length:
        return f"is too long ({len(secret)} characters, at most {rule.max_length})"
    if rule.alphabet is not None and not rule.alphabet.fullmatch(secret):
        return "may hold only letters and digits"
    guesses = float(zxcvbn(secret[:_ZXCVBN_MAX])["guesses_log10"])
    if guesses < rule.min_guesses_log10:
        return (f"is too easy to guess (about 10^{guesses:.1f} tries; repeats, sequences and "
                "words are guessed first)")
    return None


def problem(setting: str, secret: str) -> str | None:
    """A one-line error naming ``HOTLINE_<SETTING>`` when ``secret`` is too weak for it."""
    rule = RULES[setting]
    why = weakness(secret, rule)
    if why is None:
        return None
    return f"HOTLINE_{setting.upper()} {why}: {rule.how}"
