"""The helpdesk's conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Ask(StatesGroup):
    topic = State()
    text = State()
    similar = State()
    attachments = State()
    details = State()
    followup = State()




class Lawyer(StatesGroup):
    request = State()
    answer = State()
    refs = State()
    publish_question = State()
    publish_answer = State()
