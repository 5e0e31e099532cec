"""Handlers never crash the dispatcher: log with the update id, apologise in the person's language.

A transient failure (database or Redis connection lost, Bot API down before anything was sent) is not handled
here: it goes on to ``bot.resilience``, which tries the update again and apologises only when it gives it up."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.resilience import apologise, causes, is_transient
from bot.routes import Routes

router = Routes("errors")
log = logging.getLogger("jamaat.errors")


_OUT_OF_RANGE = ("out of int32 range", "out of int64 range", "integer out of range", "value out of range")
_NUL = 'invalid byte sequence for encoding "UTF8": 0x00'


def permanent(event: ErrorEvent) -> bool:
    return not is_transient(event.exception)


def unstorable(exc: BaseException) -> str | None:
    """Input the database cannot hold, whichever handler let it through: a number beyond the column's range
    (SQLite: OverflowError; PostgreSQL: out of int32/int64 range) or a NUL byte (PostgreSQL)."""
    for error in causes(exc):
        text = str(error)
        if isinstance(error, OverflowError) or any(part in text for part in _OUT_OF_RANGE):
            return "number"
        if _NUL in text:
            return "nul"
    return None


@router.errors(permanent)
async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    kind = unstorable(event.exception)
    if kind is not None:  # the transaction is rolled back: nothing stored, the conversation where it was
        log.warning("update %s: input the database cannot hold (%s): %r", update.update_id, kind, event.exception)
        text = (_("This number is too large. Please check it and send it again.") if kind == "number" else
                _("Your message contains a character that cannot be saved (a zero byte). Please send it again "
                  "without it."))
        await tell(bot, update, text)
        return True
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    await apologise(bot, update)
    return True


async def tell(bot: Bot, update: Update, text: str) -> None:
    """A short answer to whoever sent the update: an alert on a button, else a message in a private chat."""
    try:
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, text, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await bot.send_message(update.message.chat.id, text)
    except TelegramAPIError as exc:
        log.warning("could not answer update %s: %s", update.update_id, exc)
