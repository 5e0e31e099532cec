"""Registration's conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    language = State()
    phone = State()
    aiyl_aimak = State()
    village = State()
    consent = State()
    sex = State()
    age_band = State()
