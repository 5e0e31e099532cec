"""What the helpdesk's routers share: refusals, lookups that check the role and the question, the relay of
messages between asker and lawyer (sent by the bot, so neither sees the other's account or phone number)."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import in_language
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk.views import (
    QUEUE_PAGE,
    card_keyboard,
    card_text,
    municipality,
    queue_text_and_keyboard,
    take_keyboard,
    topic_label,
)
from services import helpdesk as desk
from services.helpdesk import HelpdeskError
from services.people import person_by_telegram_id
from services.roles import Roles
from storage.helpdesk import Question

log = logging.getLogger(__name__)



def attachment_of(message: Message) -> dict[str, Any] | None:
    """A photo, document or voice note of a message, as kept with the question (Telegram's file id is enough to
    resend; voice is kept as said, no transcript)."""
    if message.voice:
        return {"type": "voice", "file_id": message.voice.file_id, "name": "voice",
                "duration": message.voice.duration}
    if message.photo:
        return {"type": "photo", "file_id": message.photo[-1].file_id, "name": "photo"}
    if message.document:
        return {"type": "document", "file_id": message.document.file_id, "name": message.document.file_name or "file"}
    return None


async def announce(bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings, question: Question) -> None:
    """A new (or released) question: a card with "Take" in the lawyers' group, else a notice to each lawyer."""
    language = settings.default_language
    if settings.helpdesk_group_chat_id is not None:
        with in_language(i18n, language):
            text = _("New question in the queue") + "\n\n" + card_text(question, language, settings)
            markup = take_keyboard(question.id)
        sent = await delivery.send(bot, settings.helpdesk_group_chat_id, text[:4000], buttons=markup,
                                   what=f"question {question.id} to the lawyers' group")
        if sent is not None:
            question.group_message_id = sent.message_id
        return
    for lawyer_id in await desk.lawyer_ids(session):
        await delivery.send(bot, lawyer_id,
                            lambda: _("New question No. {number} in the queue: {topic}, {place}.").format(
                                number=question.id, topic=topic_label(question.topic),
                                place=municipality(question, i18n.current_locale)),
                            i18n=i18n, language=await lawyer_language(session, lawyer_id),
                            buttons=lambda: take_keyboard(question.id))


def voice_label(message: Message) -> str:
    """What stands for a voice note where text is expected: 🎤 and its length (m:ss)."""
    seconds = message.voice.duration if message.voice else 0
    return f"🎤 {seconds // 60}:{seconds % 60:02d}"


def said(message: Message) -> str:
    """The text of a message: its text, its caption, or the voice note's label."""
    return (message.text or message.caption or (voice_label(message) if message.voice else "")).strip()


async def on_cancel(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """"Cancel" in a helpdesk conversation, the asker's or the lawyer's."""
    await state.clear()
    await query.answer()
    await message.edit_text(_("Cancelled: nothing was sent."))


def refuse(query: CallbackQuery, why: str, text: str | None = None) -> Any:
    log.warning("helpdesk: refused button %r of %s (%s)", query.data, query.from_user.id, why)
    return query.answer(text or _("This button is no longer active."), show_alert=True)


async def lawyer_question(query: CallbackQuery, roles: Roles | None, session: AsyncSession, question_id: int,
                          *, holder: bool = True) -> Question | None:
    """The question of a lawyer's button: the role re-checked, and (``holder``) that the lawyer holds it."""
    if roles is None or not roles.lawyer:
        await refuse(query, "not a lawyer", _("Only the helpdesk's lawyers can do this."))
        return None
    try:
        question = await desk.get(session, question_id)
    except HelpdeskError:
        await refuse(query, f"no question {question_id}")
        return None
    if holder and question.lawyer_id != query.from_user.id:
        await refuse(query, f"question {question_id} is not held by them")
        return None
    return question


async def show_card(bot: Bot, session: AsyncSession, chat_id: int, question: Question, language: str,
                    settings: Settings, lawyer_id: int) -> None:
    """The full question for a lawyer: card, the exchange so far, attachments, and what they can do."""
    await bot.send_message(chat_id, card_text(question, language, settings)[:4000])
    attachments: list[dict[str, Any]] = []
    history = []
    for entry in await desk.entries(session, question.id):
        attachments += entry.attachments
        if entry.kind in ("details", "request", "answer", "followup") and entry.text:
            who = {"details": _("Asker's details"), "request": _("Lawyer's request"), "answer": _("Answer"),
                   "followup": _("Follow-up")}[entry.kind]
            history.append(f"<b>{who}</b>: {escape(entry.text[:800])}")
    if history:
        await bot.send_message(chat_id, "\n\n".join(history)[:4000])
    await delivery.send_files(bot, chat_id, attachments)
    await bot.send_message(chat_id, _("What would you like to do with No. {number}?").format(number=question.id),
                           reply_markup=card_keyboard(question, lawyer_id))


async def lawyer_language(session: AsyncSession, telegram_id: int | None) -> str | None:
    if telegram_id is None:
        return None
    person = await person_by_telegram_id(session, telegram_id)
    return person.language if person is not None else None


async def queue_view(session: AsyncSession, lawyer_id: int, topic: str | None, language: str,
                     settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    waiting = await desk.queue(session, topic=topic, limit=QUEUE_PAGE)
    total = await desk.queue_size(session, topic)
    held = await desk.held_by(session, lawyer_id)
    return queue_text_and_keyboard(waiting, held, total, topic, language, settings)
