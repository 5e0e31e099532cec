"""The organisers' buttons of /people. The prefix and field order are a wire format."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LinksCB(CallbackData, prefix="vlinks"):
    action: str  # "links" (the villages' links to share) | "posters" (PDF posters)
    aimak: int
