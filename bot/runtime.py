"""What jobs and the delivery need of the running application, as a type: ``bot.app.Jamaat`` has these parts.

Jobs are scheduled by ``bot.app``; naming the parts here, not the class, keeps jobs from importing the wiring
that imports them (no import circle)."""

from __future__ import annotations

from typing import Protocol

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from storage.db import Database


class App(Protocol):
    settings: Settings
    db: Database
    bot: Bot
    i18n: I18n
