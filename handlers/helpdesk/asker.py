"""Villagers ask the helpdesk: /ask (topic, question, the FAQ's suggestions, attachments, submit), /myquestions
(status, details, the answer, "it helped" or one follow-up, rating)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk import asker_views
from handlers.helpdesk.asker_views import (
    asker_card,
    asker_card_keyboard,
    rating_keyboard,
    submit_keyboard,
    topics_keyboard,
)
from handlers.helpdesk.buttons import AskCB
from handlers.helpdesk.common import announce, attachment_of, lawyer_language, on_cancel, refuse, said
from handlers.helpdesk.states import Ask
from handlers.helpdesk.views import config_of, open_keyboard, topic_label
from services import helpdesk as desk
from services.helpdesk import HelpdeskError
from storage.helpdesk import Question
from storage.models import Person

router = Routes("helpdesk_asker")


# ---------------------------------------------------------------- asking


@router.message(Command("ask"))
async def on_ask(message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
                 settings: Settings) -> None:
    check = await desk.may_ask(session, person, config_of(settings))
    if not check.allowed:
        if check.reason == "not_registered":
            await message.answer(_("Please register first: send /start."))
        else:
            await message.answer(_("The legal helpdesk of the LSG Union answers staff and council deputies of its "
                                   "member municipalities. If you are one of them, ask your aiyl okmotu to have "
                                   "you added: the administrator of Jamaat adds you with /member."))
        return
    await state.set_state(Ask.topic)
    await state.set_data({})
    await message.answer(_("<b>Legal helpdesk of the LSG Union</b>\nChoose the topic of your question:"),
                         reply_markup=topics_keyboard())


router.callback_query(AskCB.filter(F.action == "cancel"))(on_cancel)


@router.callback_query(Ask.topic, AskCB.filter(F.action == "topic"))
async def on_topic(query: CallbackQuery, message: Message, callback_data: AskCB, state: FSMContext) -> None:
    if callback_data.value not in desk.TOPICS:
        await refuse(query, "unknown topic")
        return
    await state.update_data(topic=callback_data.value, attachments=[])
    await state.set_state(Ask.text)
    await query.answer()
    await message.edit_text(_("Topic: {topic} ✓").format(topic=topic_label(callback_data.value)))
    await message.answer(_("Write your question in one message, or say it in a voice message: what happened, what "
                           "you need to know. Documents or photos can be added in the next step."))


@router.message(Ask.text, F.text & ~F.text.startswith("/") | F.caption | F.voice)
async def on_question_text(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """The question as text, or as a voice note (kept as said; the lawyer listens to it)."""
    text = said(message)
    attachments = (await state.get_data()).get("attachments", [])
    attachment = attachment_of(message)
    if attachment:
        attachments.append(attachment)
    await state.update_data(text=text, attachments=attachments)
    from services import faq  # the FAQ's search: loaded with the first question

    hits = [] if message.voice else await faq.search(session, text, limit=3)
    if not hits:
        await ask_for_attachments(message, state)
        return
    await state.set_state(Ask.similar)
    await message.answer(_("Before you send it: these published answers look similar."))
    for number, hit in enumerate(hits, start=1):
        entry = hit.entry
        body = (f"<b>{number}. {escape(entry.question[:300])}</b>\n\n{escape(entry.answer[:2500])}")
        if entry.law_refs:
            body += "\n\n" + _("References: {refs}").format(refs=escape(entry.law_refs))
        await message.answer(body)
    await message.answer(_("Does one of them answer your question?"), reply_markup=asker_views.faq_keyboard())


@router.message(Ask.text)
async def on_question_not_text(message: Message) -> None:
    await message.answer(_("Please write your question as text or send a voice message (a photo or document "
                           "with a caption works too)."))


async def ask_for_attachments(message: Message, state: FSMContext) -> None:
    await state.set_state(Ask.attachments)
    await message.answer(_("If you have documents or photos, send them now. Then press “Submit the question”."),
                         reply_markup=submit_keyboard())


@router.callback_query(Ask.similar, AskCB.filter(F.action == "faq_ok"))
async def on_faq_enough(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    await message.edit_text(_("Glad it helps. Your question was not sent; send /ask any time."))


@router.callback_query(Ask.similar, AskCB.filter(F.action == "anyway"))
async def on_ask_anyway(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await ask_for_attachments(message, state)


@router.message(Ask.attachments, F.photo | F.document | F.voice)
async def on_attachment(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    attachments = data.get("attachments", [])
    attachment = attachment_of(message)
    if attachment:
        attachments.append(attachment)
    update: dict[str, Any] = {"attachments": attachments[:10]}
    if message.caption:
        update["text"] = (data.get("text", "") + "\n\n" + message.caption).strip()
    await state.update_data(**update)
    await message.answer(_("Attached: {count}. Send more, or press “Submit the question”.").format(
        count=len(update["attachments"])), reply_markup=submit_keyboard())


@router.message(Ask.attachments, F.text & ~F.text.startswith("/"))
async def on_more_text(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await state.update_data(text=(data.get("text", "") + "\n\n" + (message.text or "")).strip())
    await message.answer(_("Added to your question. Press “Submit the question” when it is complete."),
                         reply_markup=submit_keyboard())


@router.callback_query(Ask.attachments, AskCB.filter(F.action == "submit"))
async def on_submit(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession,
                    person: Person | None, settings: Settings, bot: Bot, i18n: I18n) -> None:
    config = config_of(settings)
    check = await desk.may_ask(session, person, config)
    data = await state.get_data()
    if not check.allowed or person is None or not data.get("text") or data.get("topic") not in desk.TOPICS:
        await refuse(query, "not allowed or incomplete")
        return
    question = await desk.submit(session, person, topic=data["topic"], text=data["text"],
                                 language=i18n.current_locale, aiyl_aimak_id=check.aiyl_aimak_id,
                                 attachments=data.get("attachments", []), config=config)
    await session.refresh(question, ["aiyl_aimak", "asker"])
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(
        _("Your question is received: <b>No. {number}</b>. A lawyer of the LSG Union will answer by {when} "
          "(working hours count). You will get a message at every change; /myquestions shows the status.").format(
            number=question.id, when=fmt.datetime(desk.expected_answer(question, config)))
    )
    await announce(bot, i18n, session, settings, question)


# ---------------------------------------------------------------- my questions


@router.message(Command("myquestions"))
async def on_my_questions(message: Message, session: AsyncSession, person: Person | None, i18n: I18n) -> None:
    questions = await desk.questions_of(session, person) if person is not None else []
    if not questions:
        await message.answer(_("You have not asked the legal helpdesk anything yet. Send /ask to ask."))
        return
    await message.answer(asker_views.my_questions_text(questions),
                         reply_markup=asker_views.my_questions_keyboard(questions))


async def own_question(query: CallbackQuery, session: AsyncSession, person: Person | None,
                       question_id: int) -> Question | None:
    """The question of the button, if it is the person's own; else a refusal (logged)."""
    try:
        question = await desk.get(session, question_id)
    except HelpdeskError:
        question = None
    if question is None or person is None or question.asker_id != person.id:
        await refuse(query, f"question {question_id} is not theirs")
        return None
    return question


@router.callback_query(AskCB.filter(F.action == "view"))
async def on_view(query: CallbackQuery, message: Message, callback_data: AskCB, session: AsyncSession,
                  person: Person | None, settings: Settings, i18n: I18n) -> None:
    question = await own_question(query, session, person, callback_data.qid)
    if question is None:
        return
    await query.answer()
    await message.answer(asker_card(question, i18n.current_locale, settings),
                         reply_markup=asker_card_keyboard(question))


@router.callback_query(AskCB.filter(F.action == "details"))
async def on_details_button(query: CallbackQuery, message: Message, callback_data: AskCB, state: FSMContext,
                            session: AsyncSession, person: Person | None) -> None:
    question = await own_question(query, session, person, callback_data.qid)
    if question is None:
        return
    if question.status not in desk.OPEN:
        await refuse(query, "details on a question that is not open")
        return
    await state.set_state(Ask.details)
    await state.update_data(qid=question.id)
    await query.answer()
    await message.answer(_("Write the details for question No. {number}. A document or photo with a caption "
                           "works too.").format(number=question.id))


@router.message(Ask.details, F.text & ~F.text.startswith("/") | F.photo | F.document | F.voice)
async def on_details(message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
                     settings: Settings, bot: Bot, i18n: I18n) -> None:
    assert person is not None
    question_id = int((await state.get_data()).get("qid", 0))
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = said(message) or None
    try:
        before = (await desk.get(session, question_id)).status
        question = await desk.add_details(session, question_id, person, text=text, attachments=attachments,
                                          config=config_of(settings))
    except HelpdeskError:
        await state.clear()
        await message.answer(_("This question is no longer open for details."))
        return
    await state.clear()
    await message.answer(_("Added to question No. {number}.").format(number=question.id))
    if question.lawyer_id is not None:
        resumed = before == desk.NEEDS_DETAILS

        def render() -> str:
            head = (_("The asker answered your request on question No. {number}; its clock runs again.")
                    if resumed else _("The asker added details to question No. {number}."))
            return head.format(number=question.id) + "\n\n" + escape(text or "")

        await delivery.send(bot, question.lawyer_id, render, i18n=i18n,
                            language=await lawyer_language(session, question.lawyer_id),
                            buttons=lambda: open_keyboard(question.id), files=attachments)


@router.callback_query(AskCB.filter(F.action == "helped"))
async def on_helped(query: CallbackQuery, message: Message, callback_data: AskCB, session: AsyncSession,
                    person: Person | None) -> None:
    question = await own_question(query, session, person, callback_data.qid)
    if question is None or person is None:
        return
    try:
        question = await desk.mark_helped(session, question.id, person)
    except HelpdeskError:
        await refuse(query, "helped on a question that is not answered")
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Good to hear. Please rate the answer from 1 (poor) to 5 (excellent):"),
                         reply_markup=rating_keyboard(question))


@router.callback_query(AskCB.filter(F.action == "followup"))
async def on_followup_button(query: CallbackQuery, message: Message, callback_data: AskCB, state: FSMContext,
                             session: AsyncSession, person: Person | None) -> None:
    question = await own_question(query, session, person, callback_data.qid)
    if question is None:
        return
    if question.status != desk.ANSWERED or question.followups >= desk.MAX_FOLLOWUPS or question.helped:
        await refuse(query, "follow-up not possible")
        return
    await state.set_state(Ask.followup)
    await state.update_data(qid=question.id)
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Write your follow-up question on No. {number}. You can ask one.").format(
        number=question.id))


@router.message(Ask.followup, F.text & ~F.text.startswith("/") | F.photo | F.document | F.voice)
async def on_followup(message: Message, state: FSMContext, session: AsyncSession, person: Person | None, bot: Bot,
                      i18n: I18n) -> None:
    assert person is not None
    question_id = int((await state.get_data()).get("qid", 0))
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = said(message)
    try:
        question = await desk.follow_up(session, question_id, person, text=text, attachments=attachments)
    except HelpdeskError:
        await state.clear()
        await message.answer(_("A follow-up is no longer possible on this question."))
        return
    await state.clear()
    await message.answer(_("Your follow-up on question No. {number} went to the lawyer.").format(number=question.id))
    await delivery.send(bot, question.lawyer_id,
                        lambda: _("A follow-up question on No. {number}:").format(number=question.id) + "\n\n"
                        + escape(text),
                        i18n=i18n, language=await lawyer_language(session, question.lawyer_id),
                        buttons=lambda: open_keyboard(question.id), files=attachments)


@router.callback_query(AskCB.filter(F.action == "rate"))
async def on_rate(query: CallbackQuery, message: Message, callback_data: AskCB, session: AsyncSession,
                  person: Person | None, settings: Settings, bot: Bot, i18n: I18n) -> None:
    question = await own_question(query, session, person, callback_data.qid)
    if question is None or person is None:
        return
    try:
        question = await desk.rate(session, question.id, person, int(callback_data.value or 0),
                                   config=config_of(settings))
    except (HelpdeskError, ValueError):
        await refuse(query, "rating not possible")
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Thank you! Question No. {number} is closed.").format(number=question.id))
    await delivery.send(bot, question.lawyer_id,
                        lambda: _("Question No. {number} is closed; the asker rated the answer {rating} of 5.").format(
                            number=question.id, rating=question.rating),
                        i18n=i18n, language=await lawyer_language(session, question.lawyer_id))
