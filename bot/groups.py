"""Groups: the bot is silent there, except for its own commands and buttons in the lawyers' group.

The bot works in private chats. In the configured lawyers' group (``helpdesk_group_chat_id``) it posts question
cards whose buttons work, and answers its own commands (``/queue``, ``/queue@jamaat_bot``); everything else said
in a group, service messages (new members, a group becoming a supergroup, pins) and buttons of other groups are
ignored before any handler or database work. Added to any other group, it says once what it is for."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message, TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot.commands import COMMANDS
from bot.routes import Routes
from bot.settings import Settings

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
OWN_COMMANDS = frozenset(command.name for command in COMMANDS)


def own_command(message: Message, username: str | None) -> bool:
    """``/queue`` or ``/queue@this_bot``, a command of this bot's menu."""
    text = message.text or ""
    words = text[1:].split(maxsplit=1)
    if not text.startswith("/") or not words or text[1:2].isspace():
        return False
    name, _at, addressee = words[0].partition("@")
    if addressee and (username is None or addressee.lower() != username.lower()):
        return False
    return name.lower() in OWN_COMMANDS


class GroupGate:
    """Update middleware: lets through private chats, and in the lawyers' group the bot's commands and buttons."""

    def __init__(self, settings: Settings) -> None:
        self.lawyers_group = settings.helpdesk_group_chat_id
        self.username: str | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if await self.allowed(event, data["bot"]):
            return await handler(event, data)
        return UNHANDLED

    async def allowed(self, update: Update, bot: Bot) -> bool:
        message = update.message or update.edited_message
        if message is not None:
            if message.chat.type == "private":
                return True
            if message.chat.id != self.lawyers_group or message.text is None:
                return False  # other groups, service messages, media
            if self.username is None:
                self.username = (await bot.me()).username
            return own_command(message, self.username)
        query = update.callback_query
        if query is not None and query.message is not None:
            chat = query.message.chat
            return chat.type == "private" or chat.id == self.lawyers_group
        if update.channel_post is not None or update.edited_channel_post is not None:
            return False
        return True


router = Routes("groups")


@router.my_chat_member(ChatMemberUpdatedFilter(JOIN_TRANSITION))
async def on_added_to_group(event: ChatMemberUpdated, bot: Bot, settings: Settings) -> None:
    """Added to a group: once, what the bot is for; then silence."""
    if event.chat.type == "private" or event.chat.id == settings.helpdesk_group_chat_id:
        return
    me = await bot.me()
    try:
        await bot.send_message(event.chat.id, _(
            "Hello! I am the Jamaat bot of the aiyl okmotu: villagers register, vote on their village's priorities, "
            "follow the joint action plan and ask the legal helpdesk in a private chat with me. I do not answer in "
            "groups; write to me directly: @{username}").format(username=me.username))
    except TelegramAPIError as exc:
        log.warning("could not introduce myself in group %s: %s", event.chat.id, exc)


@router.my_chat_member()
async def on_other_membership(event: ChatMemberUpdated) -> None:
    """Removed, promoted, restricted: nothing to say."""
