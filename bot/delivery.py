"""The one door for messages to somebody other than the person in front of the handler.

Handlers answer the person whose update they handle (``message.answer``); everything else goes through here:

- ``send``: a message to one other person now, in their language (helpdesk relays — answers, requests for
  details, follow-ups, questions to lawyers — and role-grant notices). Sent directly, as a reply would be; a
  failure is logged and reported as ``None``, never raised, so the sender's own conversation goes on.
- ``send_files``: files somebody sent, relayed by their channel's file id.
- ``notify``: a notice through the persistent outbox (``services.outbox``), sent later by ``jobs.sender`` with
  its retries; the ``dedupe_key`` makes queuing it twice a no-op.

The interface names recipients and content, not Telegram calls, so another channel can plug in here: a person
who came over to WhatsApp from Telegram is reached on WhatsApp (``services.channels.reach_chat``), and ``kind``
("answer") tells a channel with rules about unsolicited messages which template may stand in for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import in_language
from bot.whatsapp.templates import sending
from services import channels, outbox
from services.outbox import Attachment
from storage.db import current_session
from storage.models import Person

log = logging.getLogger(__name__)

Text = str | Callable[[], str]
Buttons = InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup | None] | None


async def _chat_of(to: Person | int | None) -> tuple[int | None, str | None]:
    """The chat a person is reached at (their WhatsApp chat, if they came over from Telegram), and their
    language."""
    if isinstance(to, Person):
        session = current_session.get()
        chat_id = to.telegram_id
        if session is not None and to.id is not None:
            chat_id = await channels.reach_chat(session, to.id, chat_id)
        return chat_id, to.language
    return to, None


async def send(bot: Bot, to: Person | int | None, text: Text, *, i18n: I18n | None = None,
               language: str | None = None, buttons: Buttons = None,
               files: list[dict[str, Any]] | None = None, what: str = "a message",
               kind: str | None = None) -> Message | None:
    """Send ``text`` (with ``buttons`` and relayed ``files``) to a person (or a chat id) now.

    ``text`` and ``buttons`` may be callables: they are then rendered in the recipient's language (``language``,
    else the person's, else the default of ``i18n``). Returns the message sent, or None when there was nobody to
    send to or the messenger refused (logged with ``what``). ``kind="answer"``: a helpdesk answer or request,
    which never shows in a WhatsApp template."""
    chat_id, own_language = await _chat_of(to)
    if chat_id is None:
        return None
    if i18n is not None:
        with in_language(i18n, language or own_language or i18n.default_locale):
            body = text() if callable(text) else text
            markup = buttons() if callable(buttons) else buttons
    else:
        body = text() if callable(text) else text
        markup = buttons() if callable(buttons) else buttons
    with sending(kind):
        try:
            sent = await bot.send_message(chat_id, body, reply_markup=markup)
        except TelegramAPIError as exc:
            log.warning("could not send %s to %s: %s", what, chat_id, exc)
            return None
        if files:
            await send_files(bot, chat_id, files)
    return sent


async def send_files(bot: Bot, to: Person | int | None, files: list[dict[str, Any]]) -> None:
    """Relay files somebody sent (``{"type": "photo" | "document" | "voice", "file_id": ...}``); failures are
    logged."""
    chat_id, _language = await _chat_of(to)
    if chat_id is None:
        return
    for item in files:
        try:
            if item.get("type") == "photo":
                await bot.send_photo(chat_id, item["file_id"])
            elif item.get("type") == "voice":
                await bot.send_voice(chat_id, item["file_id"])
            else:
                await bot.send_document(chat_id, item["file_id"])
        except TelegramAPIError as exc:
            log.warning("could not relay an attachment to %s: %s", chat_id, exc)


async def notify(session: AsyncSession, to: Person | int, text: str, *, dedupe_key: str,
                 buttons: InlineKeyboardMarkup | None = None, document: Attachment | None = None,
                 broadcast_id: int | None = None, person_id: int | None = None) -> bool:
    """Queue a notice in the outbox (in the caller's transaction). False when ``dedupe_key`` was queued
    before. ``document``: a file (photo or document) with ``text`` as its caption."""
    if isinstance(to, Person):
        assert to.telegram_id is not None
        chat_id, person_id = to.telegram_id, to.id if person_id is None else person_id
    else:
        chat_id = to
    if person_id is not None:
        chat_id = await channels.reach_chat(session, person_id, chat_id)
    return await outbox.enqueue(session, chat_id=chat_id, text=text, dedupe_key=dedupe_key, person_id=person_id,
                                reply_markup=buttons.model_dump(exclude_none=True) if buttons is not None else None,
                                attachment=document, broadcast_id=broadcast_id)
