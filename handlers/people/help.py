"""/help: the commands one may use."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message

from bot.routes import Routes
from handlers.people.views import help_text
from services.roles import Roles
from storage.models import Person

router = Routes("people_help")


@router.message(Command("help"))
async def on_help(message: Message, person: Person | None, roles: Roles) -> None:
    await message.answer(help_text(person, roles))
