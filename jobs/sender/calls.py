"""One Bot API call for an outbox message: the lean path for text to Telegram, aiogram's for the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.types import (
    BufferedInputFile,
    ForceReply,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.lean import LeanSender
from services import outbox
from services.channels import is_whatsapp_chat

if TYPE_CHECKING:
    from bot.runtime import App


def _markup(raw: dict[str, Any] | None) -> Any:
    if not raw:
        return None
    if "inline_keyboard" in raw:
        return InlineKeyboardMarkup.model_validate(raw)
    if "keyboard" in raw:
        return ReplyKeyboardMarkup.model_validate(raw)
    if raw.get("remove_keyboard"):
        return ReplyKeyboardRemove.model_validate(raw)
    return ForceReply.model_validate(raw)


async def _call(app: App, message: outbox.Claimed, lean: LeanSender | None) -> tuple[int | None, str | None]:
    """The Bot API call; returns the messenger's message id and, for a first upload, the new file_id. A text
    message to a Telegram chat takes the lean path (prepared JSON, only the answer's ok and message id read)."""
    bot = app.bot
    paid = app.settings.allow_paid_broadcast
    if message.file is None and lean is not None and lean.usable and not is_whatsapp_chat(message.chat_id):
        return await lean.send_message(message.chat_id, message.text, parse_mode=message.parse_mode,
                                       reply_markup=message.reply_markup, paid=paid), None
    markup = _markup(message.reply_markup)
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    if message.file is None:
        sent = await bot.send_message(message.chat_id, message.text, parse_mode=message.parse_mode,
                                      reply_markup=markup, **extra)
        return sent.message_id, None
    source: Any = message.file.telegram_file_id
    if source is None:
        async with app.db.session() as session:
            source = BufferedInputFile(await outbox.file_data(session, message.file.id), message.file.filename)
    caption = message.text or None
    if message.file.kind == "photo":
        sent = await bot.send_photo(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                    reply_markup=markup, **extra)
        new_id = sent.photo[-1].file_id if sent.photo else None
    else:
        sent = await bot.send_document(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                       reply_markup=markup, **extra)
        new_id = sent.document.file_id if sent.document else None
    return sent.message_id, new_id if message.file.telegram_file_id is None else None
