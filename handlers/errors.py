"""Handlers never crash the dispatcher: log with the update id, apologise in the person's language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.routes import Routes

router = Routes("errors")
log = logging.getLogger("jamaat.errors")


@router.errors()
async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    chat_id = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if chat_id is not None:
        try:
            await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again "
                                              "in a minute; what you entered before is kept."))
        except TelegramAPIError as exc:
            log.warning("could not apologise for update %s: %s", update.update_id, exc)
    return True
