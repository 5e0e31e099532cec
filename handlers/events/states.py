"""The event flow's conversation states and the choices they offer."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

RULES = ("present+chair", "present", "cast+chair", "cast")


MAX_DOCUMENTS = 5


class NewEvent(StatesGroup):
    aimak = State()
    kind = State()
    topic = State()
    agenda = State()
    when = State()
    place = State()
    villages = State()
    documents = State()
    preview = State()
    reminders = State()


class EditEvent(StatesGroup):
    when = State()
    place = State()
    reminders = State()


class Outcome(StatesGroup):
    attended = State()
    women = State()
    minutes = State()
    decision = State()
    votes = State()
    chair = State()
    proposals = State()
    confirm = State()


class AskEvent(StatesGroup):
    text = State()
