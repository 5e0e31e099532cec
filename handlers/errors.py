"""Handlers never crash the dispatcher: log with the update id, apologise in the person's language.

A transient failure (database or Redis connection lost, Bot API down before anything was sent) is not handled
here: it goes on to ``bot.resilience``, which tries the update again and apologises only when it gives it up."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.resilience import is_transient
from bot.routes import Routes

router = Routes("errors")
log = logging.getLogger("jamaat.errors")


def permanent(event: ErrorEvent) -> bool:
    return not is_transient(event.exception)


@router.errors(permanent)
async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    await apologise(bot, update)
    return True


async def apologise(bot: Bot, update: Update) -> None:
    """The apology, in a private chat only (a group never hears about one person's failure)."""
    chat_id = None
    if update.message is not None and update.message.chat.type == "private":
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if chat_id is None:
        return
    try:
        await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again "
                                          "in a minute; what you entered before is kept."))
    except TelegramAPIError as exc:
        log.warning("could not apologise for update %s: %s", update.update_id, exc)
