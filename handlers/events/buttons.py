"""The event flow's buttons. The prefixes and field order are wire formats: buttons already sent keep working."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class RsvpCB(CallbackData, prefix="ev"):
    action: str  # yes | no | ask | open
    event_id: int




class NewEventCB(CallbackData, prefix="evn"):
    a: str  # aimak | kind | village | whole | villages_done | docs_done | lang | reminders | rule | send | abort
    v: int = 0


class CardCB(CallbackData, prefix="evc"):
    a: str  # open | questions | when | place | reminders | cancel | cancel_yes | outcome | protocol
    e: int


class OutcomeCB(CallbackData, prefix="evo"):
    a: str  # done | chair_for | chair_against | skip | publish | abort
    e: int
