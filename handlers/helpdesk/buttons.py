"""The helpdesk's buttons. The prefixes and field order are wire formats: buttons already sent keep working."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AskCB(CallbackData, prefix="hda"):
    action: str  # topic | faq_ok | anyway | submit | cancel | view | details | helped | followup | rate
    qid: int = 0
    value: str = ""




class LawCB(CallbackData, prefix="hdl"):
    # open | take | details | answer | send | refs | release | pass | passto | filter | publish | pub_lang | keep
    action: str
    qid: int = 0
    value: str = ""


class StatsCB(CallbackData, prefix="hds"):
    fmt: str  # csv | xlsx
    month: str  # YYYY-MM
