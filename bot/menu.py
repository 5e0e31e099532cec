"""The keyboard of main actions a registered villager gets instead of a list of commands.

Each button's text is a command in disguise: ``MenuMiddleware`` turns a pressed button (in any language) into
its command before the routers see it, so a button and a typed command take the same path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.i18n import in_language
from bot.settings import LANGUAGES

# (command, button), in the keyboard's order.
ACTIONS = (
    ("vote", __("🗳 Vote")),
    ("meetings", __("📅 Meetings")),
    ("ask", __("⚖️ Ask a lawyer")),
    ("plan", __("📋 Plan")),
    ("profile", __("👤 Profile")),
)


def main_keyboard(*, may_ask: bool) -> ReplyKeyboardMarkup:
    """In the current language; without "ask" for someone who may not ask the helpdesk."""
    buttons = [KeyboardButton(text=str(label)) for command, label in ACTIONS if may_ask or command != "ask"]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)


def button_commands(i18n: I18n) -> dict[str, str]:
    """Every button text, in every language, → its command."""
    commands: dict[str, str] = {}
    for language in LANGUAGES:
        with in_language(i18n, language):
            for command, label in ACTIONS:
                commands[str(label)] = command
    return commands


class MenuMiddleware(BaseMiddleware):
    """A main-action button pressed is the command typed."""

    def __init__(self, i18n: I18n) -> None:
        self.commands = button_commands(i18n)

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.text in self.commands:
            event = event.model_copy(update={"text": f"/{self.commands[event.text]}", "entities": None})
        return await handler(event, data)
