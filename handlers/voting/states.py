"""The voting flow's conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Collecting(StatesGroup):
    problem = State()




class NewRound(StatesGroup):
    aimak = State()
    title = State()
    description = State()
    villages = State()
    collect_ends = State()
    vote_ends = State()


class SessionEntry(StatesGroup):
    village = State()
    band = State()
    held_on = State()
    place = State()
    participants = State()
    women = State()
    votes = State()
    confirm = State()


class ImportSessions(StatesGroup):
    file = State()


class ChangeDates(StatesGroup):
    ends = State()


class Picking(StatesGroup):
    """Grouping submissions by taps: the title of the new problem is typed after picking them."""

    title = State()
