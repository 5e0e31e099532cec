"""Assisted participation's conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Assist(StatesGroup):
    phone = State()
    name = State()
    consent = State()
    ballot = State()
