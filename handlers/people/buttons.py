"""Registration's and the profile's buttons. The prefixes and field order are wire formats: buttons already
sent keep working."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LanguageCB(CallbackData, prefix="lang"):
    code: str


class PlaceCB(CallbackData, prefix="place"):
    kind: str  # "aimak", "village", "page" or "back"
    id: int




class PrivacyCB(CallbackData, prefix="privacy"):
    part: int = 1  # "More": the rest of what is kept and why


class ConsentCB(CallbackData, prefix="consent"):
    agree: bool


class SexCB(CallbackData, prefix="sex"):
    value: str  # "f", "m" or "-" for not given


class AgeCB(CallbackData, prefix="age"):
    index: int  # position in the configured bands, -1 for not given




class ProfileCB(CallbackData, prefix="profile"):
    action: str  # language | place | groups | phone | withdraw




class ForgetCB(CallbackData, prefix="forget"):
    confirm: bool
