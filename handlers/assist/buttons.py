"""Assisted participation's buttons. The prefix and field order are a wire format."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AssistCB(CallbackData, prefix="assist"):
    # menu | village (register into) | consent | person (act for) | round | toggle | cast | event | rsvp_yes |
    # rsvp_no | aimak (choose the aiyl aimak first)
    action: str
    id: int = 0
