"""The plan flow's conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class MonitorAnswer(StatesGroup):
    percent = State()
    comment = State()
    photo = State()




class PlanEdit(StatesGroup):
    title = State()
    responsible = State()
    responsible_name = State()
    dates = State()
    funding = State()
    amount = State()
    result = State()
    indicators = State()
    schedule = State()
    schedule_dates = State()
    members = State()
    mandate = State()
    group_name = State()
    approval = State()
    spent = State()
    survey = State()
