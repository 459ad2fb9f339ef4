"""Phone numbers of residents in E.164, the one form the ticket keeps (``phonenumbers``)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "CN"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """``13800138000`` / ``+86 138-0013-8000`` / ``010 6500 1234`` → E.164; None when ``raw``
    is not a valid number (short codes, alphanumeric senders, garbage)."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(phone: str) -> bool:
    """``phone`` (E.164) is a mobile number — one an SMS reaches (a landline is called)."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
