"""Lawyers: /queue (filter by topic), the question card (take, release, pass), ask for details, answer.
Every button re-checks the role and the question's state; the services make each change one atomic step."""

from __future__ import annotations

import logging

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.filters import HasRole
from bot.i18n import in_language
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk import views
from handlers.helpdesk.asker_views import after_answer_keyboard, answer_text, details_keyboard
from handlers.helpdesk.buttons import LawCB
from handlers.helpdesk.common import (
    announce,
    attachment_of,
    lawyer_language,
    lawyer_question,
    on_cancel,
    queue_view,
    refuse,
    said,
    show_card,
)
from handlers.helpdesk.states import Lawyer
from handlers.helpdesk.views import answer_keyboard, config_of, lawyer_name, open_keyboard, topic_label
from services import helpdesk as desk
from services.helpdesk import HelpdeskError
from services.roles import Role, Roles

log = logging.getLogger(__name__)
router = Routes("helpdesk_lawyer")


@router.message(Command("queue"), HasRole(Role.LAWYER))
async def on_queue(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                   i18n: I18n) -> None:
    assert message.from_user is not None
    topic = (command.args or "").strip().lower() or None
    if topic not in (None, *desk.TOPICS):
        topic = None
    text, markup = await queue_view(session, message.from_user.id, topic, i18n.current_locale, settings)
    await message.answer(text, reply_markup=markup)


@router.callback_query(LawCB.filter(F.action == "filter"))
async def on_filter(query: CallbackQuery, message: Message, callback_data: LawCB, session: AsyncSession,
                    roles: Roles | None, settings: Settings, i18n: I18n) -> None:
    if roles is None or not roles.lawyer:
        await refuse(query, "not a lawyer", _("Only the helpdesk's lawyers can do this."))
        return
    topic = callback_data.value if callback_data.value in desk.TOPICS else None
    text, markup = await queue_view(session, query.from_user.id, topic, i18n.current_locale, settings)
    await query.answer()
    await message.edit_text(text, reply_markup=markup)


@router.callback_query(LawCB.filter(F.action == "open"))
async def on_open(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                  settings: Settings, bot: Bot, i18n: I18n) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid, holder=False)
    if question is None:
        return
    await query.answer()
    if question.lawyer_id is not None and question.lawyer_id != query.from_user.id:
        # Another lawyer's question: its number, topic and holder, never the asker's text or details.
        log.warning("helpdesk: %s opened question %s held by %s", query.from_user.id, question.id, question.lawyer_id)
        holder = await lawyer_name(session, question.lawyer_id)
        await bot.send_message(query.from_user.id, _("Question No. {number} · {topic} is held by {name}.").format(
            number=question.id, topic=topic_label(question.topic), name=holder))
        return
    await show_card(bot, session, query.from_user.id, question, i18n.current_locale, settings, query.from_user.id)


@router.callback_query(LawCB.filter(F.action == "take"))
async def on_take(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                  settings: Settings, bot: Bot, i18n: I18n) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid, holder=False)
    if question is None:
        return
    lawyer_id = query.from_user.id
    try:
        question = await desk.claim(session, question.id, lawyer_id, config=config_of(settings))
    except HelpdeskError as error:
        if error.code in ("taken", "yours"):
            name = _("you") if error.holder == lawyer_id else await lawyer_name(session, error.holder)
            await query.answer(_("Already taken by {name}.").format(name=name), show_alert=True)
        else:
            await query.answer(_("This question is no longer waiting in the queue."), show_alert=True)
        return
    await query.answer(_("You took question No. {number}.").format(number=question.id))
    if isinstance(query.message, Message) and query.message.chat.type != "private":
        with in_language(i18n, settings.default_language):
            note = _("Taken by {name}.").format(name=await lawyer_name(session, lawyer_id))
        try:
            await query.message.edit_text(f"{query.message.html_text}\n\n{note}"[:4000], reply_markup=None)
        except TelegramAPIError as exc:
            log.warning("helpdesk: could not update the group card of %s: %s", question.id, exc)
    language = await lawyer_language(session, lawyer_id) or i18n.current_locale
    with in_language(i18n, language):
        try:
            await show_card(bot, session, lawyer_id, question, language, settings, lawyer_id)
        except TelegramAPIError as exc:
            log.warning("helpdesk: could not open question %s for %s in private: %s", question.id, lawyer_id, exc)
    await delivery.send(bot, question.asker, lambda: _("A lawyer has taken your question No. {number} and is working "
                                                    "on it.").format(number=question.id), i18n=i18n)


@router.callback_query(LawCB.filter(F.action == "release"))
async def on_release(query: CallbackQuery, message: Message, callback_data: LawCB, session: AsyncSession,
                     roles: Roles | None, settings: Settings, bot: Bot, i18n: I18n) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None:
        return
    try:
        question = await desk.release(session, question.id, query.from_user.id, config=config_of(settings))
    except HelpdeskError:
        await refuse(query, "release not possible")
        return
    await query.answer()
    await message.edit_text(_("Question No. {number} is back in the queue.").format(number=question.id))
    await delivery.send(bot, question.asker, lambda: _("Your question No. {number} is back in the queue; another "
                                                    "lawyer will take it.").format(number=question.id), i18n=i18n)
    await announce(bot, i18n, session, settings, question)


@router.callback_query(LawCB.filter(F.action == "pass"))
async def on_pass(query: CallbackQuery, message: Message, callback_data: LawCB, session: AsyncSession,
                  roles: Roles | None) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None:
        return
    others = [i for i in await desk.lawyer_ids(session) if i != query.from_user.id]
    if not others:
        await query.answer(_("There is no other lawyer to pass it to."), show_alert=True)
        return
    names = [(other, await lawyer_name(session, other)) for other in others[:20]]
    await query.answer()
    await message.answer(_("Pass question No. {number} to:").format(number=question.id),
                         reply_markup=views.pass_keyboard(question.id, names))


@router.callback_query(LawCB.filter(F.action == "passto"))
async def on_pass_to(query: CallbackQuery, message: Message, callback_data: LawCB, session: AsyncSession,
                     roles: Roles | None, bot: Bot, i18n: I18n) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or not callback_data.value.isdigit():
        return
    other = int(callback_data.value)
    try:
        question = await desk.pass_to(session, question.id, query.from_user.id, other)
    except HelpdeskError:
        await refuse(query, "pass not possible")
        return
    name = await lawyer_name(session, other)
    me = await lawyer_name(session, query.from_user.id)
    await query.answer()
    await message.edit_text(_("Question No. {number} is passed to {name}.").format(number=question.id,
                                                                                      name=name))
    await delivery.send(bot, other,
                        lambda: _("{name} passed question No. {number} to you.").format(name=me, number=question.id),
                        i18n=i18n, language=await lawyer_language(session, other),
                        buttons=lambda: open_keyboard(question.id))


# ---------------------------------------------------------------- asking for details


@router.callback_query(LawCB.filter(F.action == "details"))
async def on_details_button(query: CallbackQuery, message: Message, callback_data: LawCB, state: FSMContext,
                            session: AsyncSession, roles: Roles | None) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status not in (desk.TAKEN, desk.NEEDS_DETAILS):
        if question is not None:
            await refuse(query, "details on a question not in work")
        return
    await state.set_state(Lawyer.request)
    await state.set_data({"qid": question.id})
    await query.answer()
    await message.answer(_("Write what you need from the asker of question No. {number}. The bot passes it "
                           "on; the question's clock pauses until they answer.").format(number=question.id))


@router.message(Lawyer.request, F.text & ~F.text.startswith("/") | F.photo | F.document | F.voice)
async def on_request(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, bot: Bot,
                     i18n: I18n, roles: Roles | None) -> None:
    assert message.from_user is not None
    question_id = int((await state.get_data()).get("qid", 0))
    await state.clear()
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = said(message)
    if roles is None or not roles.lawyer:
        return
    try:
        question = await desk.request_details(session, question_id, message.from_user.id, text=text,
                                              attachments=attachments, config=config_of(settings))
    except HelpdeskError:
        await message.answer(_("This question is no longer yours to ask about."))
        return
    await message.answer(_("Sent. Question No. {number} waits for the asker's details; its clock is paused.").format(
        number=question.id))
    await delivery.send(bot, question.asker,
                        lambda: _("The lawyer needs more details for your question No. {number}:").format(
                            number=question.id) + "\n\n" + escape(text),
                        i18n=i18n, buttons=lambda: details_keyboard(question), files=attachments, kind="answer")


@router.callback_query(LawCB.filter(F.action == "answer"))
async def on_answer_button(query: CallbackQuery, message: Message, callback_data: LawCB, state: FSMContext,
                           session: AsyncSession, roles: Roles | None) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status != desk.TAKEN:
        if question is not None:
            await refuse(query, "answer on a question not taken")
        return
    await state.set_state(Lawyer.answer)
    await state.set_data({"qid": question.id, "parts": [], "attachments": [], "refs": ""})
    await query.answer()
    await message.answer(_("Write your answer to question No. {number}. You can send it in several messages "
                           "and add documents; then press “Send the answer”.").format(number=question.id))


@router.message(Lawyer.answer, F.text & ~F.text.startswith("/") | F.photo | F.document | F.voice)
async def on_answer_part(message: Message, state: FSMContext) -> None:
    """A part of the answer: text, a file, or a voice note (the asker hears it)."""
    data = await state.get_data()
    parts, attachments = list(data.get("parts", [])), list(data.get("attachments", []))
    if said(message):
        parts.append(said(message))
    attachment = attachment_of(message)
    if attachment:
        attachments.append(attachment)
    await state.update_data(parts=parts, attachments=attachments[:10])
    await message.answer(_("Added to the answer. Press “Send the answer” when it is complete."),
                         reply_markup=answer_keyboard(int(data.get("qid", 0))))


@router.callback_query(Lawyer.answer, LawCB.filter(F.action == "refs"))
async def on_refs_button(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.set_state(Lawyer.refs)
    await query.answer()
    await message.answer(_("Write the references to laws, e.g. “Law on local self-government No. 101 of "
                           "15 July 2011, article 33”."))


@router.message(Lawyer.refs, F.text & ~F.text.startswith("/"))
async def on_refs(message: Message, state: FSMContext) -> None:
    await state.update_data(refs=message.text)
    await state.set_state(Lawyer.answer)
    data = await state.get_data()
    await message.answer(_("References added. Press “Send the answer” when it is complete."),
                         reply_markup=answer_keyboard(int(data.get("qid", 0))))


router.callback_query(LawCB.filter(F.action == "cancel"))(on_cancel)


@router.callback_query(Lawyer.answer, LawCB.filter(F.action == "send"))
async def on_send_answer(query: CallbackQuery, message: Message, callback_data: LawCB, state: FSMContext,
                         session: AsyncSession, roles: Roles | None, settings: Settings, bot: Bot, i18n: I18n) -> None:
    data = await state.get_data()
    if int(data.get("qid", -1)) != callback_data.qid:
        await refuse(query, "answer of another question")
        return
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None:
        return
    text = "\n\n".join(data.get("parts", [])).strip()
    if not text:
        await query.answer(_("Please write the answer first."), show_alert=True)
        return
    refs = (data.get("refs") or "").strip() or None
    attachments = list(data.get("attachments", []))
    try:
        question = await desk.answer(session, question.id, query.from_user.id, text=text, attachments=attachments,
                                     law_refs=refs, config=config_of(settings))
    except HelpdeskError:
        await refuse(query, "answer not possible")
        return
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("The answer to question No. {number} is sent to the asker.").format(
        number=question.id), reply_markup=views.publish_keyboard(question.id))
    await delivery.send(bot, question.asker, lambda: answer_text(question, text, refs), i18n=i18n, files=attachments,
                        kind="answer")
    await delivery.send(bot, question.asker,
                        lambda: _("Did the answer help you?") if not question.followups
                        else _("Please rate the answer from 1 (poor) to 5 (excellent):"),
                        i18n=i18n, buttons=lambda: after_answer_keyboard(question))
