"""Input the database cannot take is refused before any handler sees it, with a clear answer; the flow's state
is kept, so the person simply sends again.

- A NUL byte in a text, caption or button (PostgreSQL refuses it in text columns).
- A shared contact whose phone number is empty or not a number.
- Button data whose number does not fit the database: every integer field of the bot's ``CallbackData``
  classes is an id, an index or a small number, so a value outside 32 bits can only be a forged button.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from services.phone import InvalidPhone, normalize_phone

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
INT32 = range(-(2**31), 2**31)


def _texts(message: Message) -> list[str]:
    texts = [message.text, message.caption]
    if message.contact is not None:
        texts += [message.contact.first_name, message.contact.last_name, message.contact.phone_number]
    return [text for text in texts if text]


@cache
def _int_fields() -> dict[str, tuple[str, list[int]]]:
    """prefix -> (separator, positions of int fields), of every CallbackData class imported so far."""
    found: dict[str, tuple[str, list[int]]] = {}
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        positions = [i for i, field in enumerate(cls.model_fields.values()) if field.annotation in (int, int | None)]
        found[cls.__prefix__] = (cls.__separator__, positions)
    return found


def forged_number(data: str) -> bool:
    """Button data of one of the bot's buttons with an integer outside the database's range."""
    prefix = data.split(":", 1)[0]
    known = _int_fields().get(prefix)
    if known is None:
        return False
    separator, positions = known
    values = data.split(separator)[1:]
    for position in positions:
        if position < len(values):
            try:
                if int(values[position]) not in INT32:
                    return True
            except ValueError:
                continue  # not a number at all: the class's own validation refuses it
    return False


class MessageGuard:
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        if any("\x00" in text for text in _texts(event)):
            log.warning("message with a NUL byte from %s refused", event.from_user.id if event.from_user else None)
            await event.answer(_("Your message contains a character that cannot be saved (a zero byte). Please "
                                 "send it again without it."))
            return UNHANDLED
        if event.contact is not None:
            try:
                normalize_phone(event.contact.phone_number or "")
            except InvalidPhone:
                await event.answer(_("This phone number cannot be read. Please share your own phone number with "
                                     "the button below."))
                return UNHANDLED
        return await handler(event, data)


class CallbackGuard:
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, CallbackQuery)
        button = event.data or ""
        if "\x00" in button or forged_number(button):
            log.warning("refused button %r from %s", button[:64], event.from_user.id)
            await event.answer(_("This button is no longer active."), show_alert=True)
            return UNHANDLED
        return await handler(event, data)
