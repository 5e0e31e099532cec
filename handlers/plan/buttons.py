"""The plan flow's buttons. The prefixes and field order are wire formats: buttons already sent keep working."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MonitorCB(CallbackData, prefix="pm"):
    occ: int
    action: str  # st (status) | pct (percent) | skipc (no comment) | skipp (no photo)
    value: str = ""


class ScoreCB(CallbackData, prefix="ps"):
    occ: int
    score: int


class FollowCB(CallbackData, prefix="pf"):
    plan: int
    on: bool




class OrgCB(CallbackData, prefix="po"):
    action: str
    plan: int = 0
    item: int = 0
    value: str = ""
