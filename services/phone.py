"""Phone numbers: normalised, then kept only as a keyed hash (one person, one vote)."""

from __future__ import annotations

import hashlib
import hmac
import re


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """E.164 digits with a leading '+'; Kyrgyz local forms (0700…, 700…) become +996…."""
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("00"):
        digits = digits[2:]
    if len(digits) == 10 and digits.startswith("0"):
        digits = "996" + digits[1:]
    elif len(digits) == 9:
        digits = "996" + digits
    if not 8 <= len(digits) <= 15:
        raise InvalidPhone(raw)
    return "+" + digits


def phone_hash(key: str, raw: str) -> str:
    """The keyed pseudonym of a phone number: HMAC-SHA256 over its normal form."""
    return hmac.new(key.encode(), normalize_phone(raw).encode(), hashlib.sha256).hexdigest()


def phone_tail(raw: str) -> str:
    """The last two digits, enough for a person to recognise their own number."""
    return normalize_phone(raw)[-2:]
