"""What the asker sees: topics, the question card, the answer with its follow-up and rating, the FAQ's offer."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import Formatter
from bot.keyboards import InlineKeyboardBuilder
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk.buttons import AskCB
from handlers.helpdesk.views import PREVIEW, status_label, topic_label
from services import helpdesk as desk
from storage.helpdesk import Question


def topics_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for topic in desk.TOPICS:
        builder.button(text=topic_label(topic), callback_data=AskCB(action="topic", value=topic))
    builder.button(text=_("Cancel"), callback_data=AskCB(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def submit_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Submit the question"), callback_data=AskCB(action="submit"))
    builder.button(text=_("Cancel"), callback_data=AskCB(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def after_answer_keyboard(question: Question) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if question.followups < desk.MAX_FOLLOWUPS and not question.helped:
        builder.button(text=_("It helped"), callback_data=AskCB(action="helped", qid=question.id))
        builder.button(text=_("Ask a follow-up question"), callback_data=AskCB(action="followup", qid=question.id))
        builder.adjust(1)
        return builder.as_markup()
    return rating_keyboard(question)


def rating_keyboard(question: Question) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in range(1, 6):
        builder.button(text="⭐" * value if value == 5 else str(value),
                       callback_data=AskCB(action="rate", qid=question.id, value=str(value)))
    builder.adjust(5)
    return builder.as_markup()


def details_keyboard(question: Question) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Reply with details"), callback_data=AskCB(action="details", qid=question.id))
    return builder.as_markup()


def asker_card(question: Question, language: str, settings: Settings) -> str:
    fmt = Formatter(language, settings.zone)
    lines = [
        _("<b>Question No. {number}</b>").format(number=question.id),
        _("Topic: {topic}").format(topic=topic_label(question.topic)),
        _("Asked: {when}").format(when=fmt.datetime(question.created_at)),
        _("Status: {status}").format(status=status_label(question.status)),
        "",
        escape(question.text[:PREVIEW]),
    ]
    return "\n".join(lines)


def asker_card_keyboard(question: Question) -> InlineKeyboardMarkup | None:
    if question.status in desk.OPEN:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Add details"), callback_data=AskCB(action="details", qid=question.id))
        return builder.as_markup()
    if question.status == desk.ANSWERED:
        return after_answer_keyboard(question)
    return None


def answer_text(question: Question, text: str, law_refs: str | None) -> str:
    body = _("<b>Answer to your question No. {number}</b>").format(number=question.id) + "\n\n" + escape(text)
    if law_refs:
        body += "\n\n" + _("References: {refs}").format(refs=escape(law_refs))
    return body


def faq_keyboard() -> InlineKeyboardMarkup:
    """Under the FAQ's suggestions: one of them answers me, or ask anyway."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("This answers me"), callback_data=AskCB(action="faq_ok"))
    builder.button(text=_("Ask anyway"), callback_data=AskCB(action="anyway"))
    builder.adjust(2)
    return builder.as_markup()


def my_questions_text(questions: list[Question]) -> str:
    lines = [_("<b>Your questions</b>")]
    for question in questions:
        lines.append(_("No. {number} · {topic} · {status}").format(
            number=question.id, topic=topic_label(question.topic), status=status_label(question.status)))
    return "\n".join(lines)


def my_questions_keyboard(questions: list[Question]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for question in questions:
        builder.button(text=_("No. {number}").format(number=question.id),
                       callback_data=AskCB(action="view", qid=question.id))
    builder.adjust(4)
    return builder.as_markup()
