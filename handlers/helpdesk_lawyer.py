"""The legal helpdesk, lawyers' and admins' side: /queue, the question card, take (also from the lawyers' group
card), ask for details, answer, release, pass, publish to the FAQ; /stats and /member for admins.

Every button re-checks the role and the question's state; the services make each change one atomic UPDATE."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import Formatter, in_language
from bot.routes import Routes
from bot.settings import Settings
from handlers.helpdesk_asker import (
    after_answer_keyboard,
    answer_text,
    attachment_of,
    config_of,
    details_keyboard,
    escape,
    municipality,
    send_attachments,
    status_label,
    tell,
    tell_asker,
    topic_label,
)
from services import faq
from services import helpdesk as desk
from services import helpdesk_stats as stats_service
from services.helpdesk import HelpdeskError
from services.people import person_by_telegram_id
from services.places import find_aiyl_aimak, list_villages, place_name
from services.roles import Role, Roles
from storage.helpdesk import Question

log = logging.getLogger(__name__)
router = Routes("helpdesk_lawyer")
QUEUE_PAGE = 8
FAQ_LANGUAGE_NAMES = {"ky": "Кыргызча", "ru": "Русский"}


class LawCB(CallbackData, prefix="hdl"):
    # open | take | details | answer | send | refs | release | pass | passto | filter | publish | pub_lang | keep
    action: str
    qid: int = 0
    value: str = ""


class StatsCB(CallbackData, prefix="hds"):
    fmt: str  # csv | xlsx
    month: str  # YYYY-MM


class Lawyer(StatesGroup):
    request = State()
    answer = State()
    refs = State()
    publish_question = State()
    publish_answer = State()


# ---------------------------------------------------------------- shared helpers


async def lawyer_language(session: AsyncSession, telegram_id: int | None) -> str | None:
    if telegram_id is None:
        return None
    person = await person_by_telegram_id(session, telegram_id)
    return person.language if person is not None else None


async def lawyer_name(session: AsyncSession, telegram_id: int | None) -> str:
    if telegram_id is None:
        return "—"
    person = await person_by_telegram_id(session, telegram_id)
    return escape(person.first_name) if person is not None and person.first_name else str(telegram_id)


def open_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Open No. {number}").format(number=question_id), callback_data=LawCB(action="open",
                                                                                                 qid=question_id))
    return builder.as_markup()


def take_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Take"), callback_data=LawCB(action="take", qid=question_id))
    return builder.as_markup()


def working_hours(seconds: float, fmt: Formatter) -> str:
    return _("{hours} working h").format(hours=fmt.number(round(seconds / 3600, 1)))


def card_text(question: Question, language: str, settings: Settings, now: datetime | None = None) -> str:
    fmt = Formatter(language, settings.zone)
    config = config_of(settings)
    lines = [
        _("<b>Question No. {number}</b> · {topic}").format(number=question.id, topic=topic_label(question.topic)),
        _("Municipality: {name}").format(name=municipality(question, language)),
        _("Asked: {when} ({age})").format(when=fmt.datetime(question.created_at),
                                          age=working_hours(desk.elapsed(question, config, now or
                                                                         datetime.now(UTC)), fmt)),
        _("Status: {status}").format(status=status_label(question.status)),
        "",
        escape(question.text),
    ]
    return "\n".join(lines)


async def announce(bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings, question: Question) -> None:
    """A new (or released) question: a card with "Take" in the lawyers' group, else a notice to each lawyer."""
    language = settings.default_language
    if settings.helpdesk_group_chat_id is not None:
        with in_language(i18n, language):
            text = _("New question in the queue") + "\n\n" + card_text(question, language, settings)
            markup = take_keyboard(question.id)
        try:
            sent = await bot.send_message(settings.helpdesk_group_chat_id, text[:4000], reply_markup=markup)
            question.group_message_id = sent.message_id
        except TelegramAPIError as exc:
            log.warning("helpdesk: could not post question %s to the lawyers' group: %s", question.id, exc)
        return
    for lawyer_id in await desk.lawyer_ids(session):
        await tell(bot, i18n, lawyer_id, await lawyer_language(session, lawyer_id),
                   lambda: _("New question No. {number} in the queue: {topic}, {place}.").format(
                       number=question.id, topic=topic_label(question.topic),
                       place=municipality(question, i18n.current_locale)),
                   lambda: take_keyboard(question.id))


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


def card_keyboard(question: Question, lawyer_id: int) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if question.status == desk.WAITING:
        builder.button(text=_("Take"), callback_data=LawCB(action="take", qid=question.id))
    elif question.lawyer_id == lawyer_id and question.status in (desk.TAKEN, desk.NEEDS_DETAILS):
        if question.status == desk.TAKEN:
            builder.button(text=_("Answer"), callback_data=LawCB(action="answer", qid=question.id))
        builder.button(text=_("Ask for details"), callback_data=LawCB(action="details", qid=question.id))
        if question.status == desk.TAKEN:
            builder.button(text=_("Release to the queue"), callback_data=LawCB(action="release", qid=question.id))
        builder.button(text=_("Pass to another lawyer"), callback_data=LawCB(action="pass", qid=question.id))
    elif question.lawyer_id == lawyer_id and question.status in (desk.ANSWERED, desk.CLOSED):
        builder.button(text=_("Publish to the FAQ"), callback_data=LawCB(action="publish", qid=question.id))
    builder.adjust(1)
    return builder.as_markup() if builder.buttons else None


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
    await send_attachments(bot, chat_id, attachments)
    await bot.send_message(chat_id, _("What would you like to do with No. {number}?").format(number=question.id),
                           reply_markup=card_keyboard(question, lawyer_id))


# ---------------------------------------------------------------- the queue


def queue_text_and_keyboard(waiting: list[Question], held: list[Question], total: int, topic: str | None,
                            language: str, settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    fmt = Formatter(language, settings.zone)
    config = config_of(settings)
    now = datetime.now(UTC)
    head = (_("<b>Queue: {topic}</b>").format(topic=topic_label(topic)) if topic else _("<b>Queue</b>"))
    lines = [head + " · " + _("waiting: {count}").format(count=fmt.number(total))]
    builder = InlineKeyboardBuilder()
    for question in waiting:
        lines.append(_("No. {number} · {topic} · {place} · {age}").format(
            number=question.id, topic=topic_label(question.topic), place=municipality(question, language),
            age=working_hours(desk.elapsed(question, config, now), fmt)))
        builder.button(text=_("No. {number}").format(number=question.id),
                       callback_data=LawCB(action="open", qid=question.id))
    if not waiting:
        lines.append(_("Nothing is waiting."))
    if held:
        lines += ["", _("<b>Yours in work</b>")]
        for question in held:
            lines.append(_("No. {number} · {topic} · {status}").format(
                number=question.id, topic=topic_label(question.topic), status=status_label(question.status)))
            builder.button(text=_("No. {number} (yours)").format(number=question.id),
                           callback_data=LawCB(action="open", qid=question.id))
    builder.adjust(4)
    filters = InlineKeyboardBuilder()
    filters.button(text=_("All topics"), callback_data=LawCB(action="filter", value=""))
    for code in desk.TOPICS:
        filters.button(text=topic_label(code)[:40], callback_data=LawCB(action="filter", value=code))
    filters.adjust(1)
    builder.attach(filters)
    return "\n".join(lines), builder.as_markup()


async def queue_view(session: AsyncSession, lawyer_id: int, topic: str | None, language: str,
                     settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    waiting = await desk.queue(session, topic=topic, limit=QUEUE_PAGE)
    total = await desk.queue_size(session, topic)
    held = await desk.held_by(session, lawyer_id)
    return queue_text_and_keyboard(waiting, held, total, topic, language, settings)


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
async def on_filter(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                    settings: Settings, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    if roles is None or not roles.lawyer:
        await refuse(query, "not a lawyer", _("Only the helpdesk's lawyers can do this."))
        return
    topic = callback_data.value if callback_data.value in desk.TOPICS else None
    text, markup = await queue_view(session, query.from_user.id, topic, i18n.current_locale, settings)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(LawCB.filter(F.action == "open"))
async def on_open(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                  settings: Settings, bot: Bot, i18n: I18n) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid, holder=False)
    if question is None:
        return
    await query.answer()
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
    await tell_asker(bot, i18n, question, lambda: _("A lawyer has taken your question No. {number} and is working "
                                                    "on it.").format(number=question.id))


@router.callback_query(LawCB.filter(F.action == "release"))
async def on_release(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                     settings: Settings, bot: Bot, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None:
        return
    try:
        question = await desk.release(session, question.id, query.from_user.id, config=config_of(settings))
    except HelpdeskError:
        await refuse(query, "release not possible")
        return
    await query.answer()
    await query.message.edit_text(_("Question No. {number} is back in the queue.").format(number=question.id))
    await tell_asker(bot, i18n, question, lambda: _("Your question No. {number} is back in the queue; another "
                                                    "lawyer will take it.").format(number=question.id))
    await announce(bot, i18n, session, settings, question)


@router.callback_query(LawCB.filter(F.action == "pass"))
async def on_pass(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None:
        return
    others = [i for i in await desk.lawyer_ids(session) if i != query.from_user.id]
    if not others:
        await query.answer(_("There is no other lawyer to pass it to."), show_alert=True)
        return
    builder = InlineKeyboardBuilder()
    for other in others[:20]:
        builder.button(text=await lawyer_name(session, other),
                       callback_data=LawCB(action="passto", qid=question.id, value=str(other)))
    builder.adjust(2)
    await query.answer()
    await query.message.answer(_("Pass question No. {number} to:").format(number=question.id),
                               reply_markup=builder.as_markup())


@router.callback_query(LawCB.filter(F.action == "passto"))
async def on_pass_to(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None,
                     bot: Bot, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
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
    await query.message.edit_text(_("Question No. {number} is passed to {name}.").format(number=question.id,
                                                                                      name=name))
    await tell(bot, i18n, other, await lawyer_language(session, other),
               lambda: _("{name} passed question No. {number} to you.").format(name=me, number=question.id),
               lambda: open_keyboard(question.id))


# ---------------------------------------------------------------- asking for details


@router.callback_query(LawCB.filter(F.action == "details"))
async def on_details_button(query: CallbackQuery, callback_data: LawCB, state: FSMContext, session: AsyncSession,
                            roles: Roles | None) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status not in (desk.TAKEN, desk.NEEDS_DETAILS):
        if question is not None:
            await refuse(query, "details on a question not in work")
        return
    await state.set_state(Lawyer.request)
    await state.set_data({"qid": question.id})
    await query.answer()
    await query.message.answer(_("Write what you need from the asker of question No. {number}. The bot passes it "
                                 "on; the question's clock pauses until they answer.").format(number=question.id))


@router.message(Lawyer.request, F.text & ~F.text.startswith("/") | F.photo | F.document)
async def on_request(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, bot: Bot,
                     i18n: I18n, roles: Roles | None) -> None:
    assert message.from_user is not None
    question_id = int((await state.get_data()).get("qid", 0))
    await state.clear()
    attachment = attachment_of(message)
    attachments = [attachment] if attachment else []
    text = message.text or message.caption or ""
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
    await tell_asker(bot, i18n, question,
                     lambda: _("The lawyer needs more details for your question No. {number}:").format(
                         number=question.id) + "\n\n" + escape(text),
                     lambda: details_keyboard(question), attachments)


# ---------------------------------------------------------------- answering


def answer_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Send the answer"), callback_data=LawCB(action="send", qid=question_id))
    builder.button(text=_("Add references to laws"), callback_data=LawCB(action="refs", qid=question_id))
    builder.button(text=_("Cancel"), callback_data=LawCB(action="cancel", qid=question_id))
    builder.adjust(1)
    return builder.as_markup()


@router.callback_query(LawCB.filter(F.action == "answer"))
async def on_answer_button(query: CallbackQuery, callback_data: LawCB, state: FSMContext, session: AsyncSession,
                           roles: Roles | None) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status != desk.TAKEN:
        if question is not None:
            await refuse(query, "answer on a question not taken")
        return
    await state.set_state(Lawyer.answer)
    await state.set_data({"qid": question.id, "parts": [], "attachments": [], "refs": ""})
    await query.answer()
    await query.message.answer(_("Write your answer to question No. {number}. You can send it in several messages "
                                 "and add documents; then press “Send the answer”.").format(number=question.id))


@router.message(Lawyer.answer, F.text & ~F.text.startswith("/") | F.photo | F.document)
async def on_answer_part(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    parts, attachments = list(data.get("parts", [])), list(data.get("attachments", []))
    if message.text or message.caption:
        parts.append(message.text or message.caption)
    attachment = attachment_of(message)
    if attachment:
        attachments.append(attachment)
    await state.update_data(parts=parts, attachments=attachments[:10])
    await message.answer(_("Added to the answer. Press “Send the answer” when it is complete."),
                         reply_markup=answer_keyboard(int(data.get("qid", 0))))


@router.callback_query(Lawyer.answer, LawCB.filter(F.action == "refs"))
async def on_refs_button(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    await state.set_state(Lawyer.refs)
    await query.answer()
    await query.message.answer(_("Write the references to laws, e.g. “Law on local self-government No. 101 of "
                                 "15 July 2011, article 33”."))


@router.message(Lawyer.refs, F.text & ~F.text.startswith("/"))
async def on_refs(message: Message, state: FSMContext) -> None:
    await state.update_data(refs=message.text)
    await state.set_state(Lawyer.answer)
    data = await state.get_data()
    await message.answer(_("References added. Press “Send the answer” when it is complete."),
                         reply_markup=answer_keyboard(int(data.get("qid", 0))))


@router.callback_query(LawCB.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    await state.clear()
    await query.answer()
    await query.message.edit_text(_("Cancelled: nothing was sent."))


@router.callback_query(Lawyer.answer, LawCB.filter(F.action == "send"))
async def on_send_answer(query: CallbackQuery, callback_data: LawCB, state: FSMContext, session: AsyncSession,
                         roles: Roles | None, settings: Settings, bot: Bot, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
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
    await query.message.edit_reply_markup(reply_markup=None)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Publish to the FAQ"), callback_data=LawCB(action="publish", qid=question.id))
    await query.message.answer(_("The answer to question No. {number} is sent to the asker.").format(
        number=question.id), reply_markup=builder.as_markup())
    await tell_asker(bot, i18n, question, lambda: answer_text(question, text, refs), None, attachments)
    await tell_asker(bot, i18n, question, lambda: _("Did the answer help you?") if not question.followups
                     else _("Please rate the answer from 1 (poor) to 5 (excellent):"),
                     lambda: after_answer_keyboard(question))


# ---------------------------------------------------------------- publishing to the FAQ


@router.callback_query(LawCB.filter(F.action == "publish"))
async def on_publish(query: CallbackQuery, callback_data: LawCB, session: AsyncSession, roles: Roles | None) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status not in (desk.ANSWERED, desk.CLOSED):
        if question is not None:
            await refuse(query, "publish before the answer")
        return
    builder = InlineKeyboardBuilder()
    for code, name in FAQ_LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LawCB(action="pub_lang", qid=question.id, value=code))
    await query.answer()
    await query.message.answer(_("In which language do you publish question No. {number}? You can publish it in "
                                 "both, one after the other.").format(number=question.id),
                               reply_markup=builder.as_markup())


async def drafts(session: AsyncSession, question: Question) -> tuple[str, str, str | None]:
    """The question and the last answer, anonymised: names, phone numbers and the municipality removed."""
    names = [question.asker.first_name] if question.asker is not None and question.asker.first_name else []
    for lawyer_id in await desk.lawyer_ids(session):
        person = await person_by_telegram_id(session, lawyer_id)
        if person is not None and person.first_name:
            names.append(person.first_name)
    places: list[str] = []
    if question.aiyl_aimak is not None:
        places += [question.aiyl_aimak.name_ky, question.aiyl_aimak.name_ru]
        for village in await list_villages(session, question.aiyl_aimak.id):
            places += [village.name_ky, village.name_ru]
    answers = [e for e in await desk.entries(session, question.id) if e.kind == "answer" and e.text]
    answer_text_ = "\n\n".join(e.text or "" for e in answers)  # the answer and the one to a follow-up
    refs = "; ".join(r for r in dict.fromkeys((e.detail or {}).get("law_refs") for e in answers) if r)
    return (faq.anonymise(question.text, names=names, places=places),
            faq.anonymise(answer_text_, names=names, places=places), refs or None)


def keep_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Keep this text"), callback_data=LawCB(action="keep", qid=question_id))
    builder.button(text=_("Cancel"), callback_data=LawCB(action="cancel", qid=question_id))
    builder.adjust(1)
    return builder.as_markup()


@router.callback_query(LawCB.filter(F.action == "pub_lang"))
async def on_publish_language(query: CallbackQuery, callback_data: LawCB, state: FSMContext,
                              session: AsyncSession, roles: Roles | None) -> None:
    assert isinstance(query.message, Message)
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or callback_data.value not in FAQ_LANGUAGE_NAMES:
        if question is not None:
            await refuse(query, "unknown FAQ language")
        return
    question_draft, answer_draft, refs = await drafts(session, question)
    await state.set_state(Lawyer.publish_question)
    await state.set_data({"qid": question.id, "language": callback_data.value, "question": question_draft,
                          "answer": answer_draft, "refs": refs})
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("1/2. The question, anonymised (names, phone numbers and the municipality "
                                 "removed). Check it: send a corrected or translated text, or keep it."))
    await query.message.answer(escape(question_draft)[:4000], reply_markup=keep_keyboard(question.id))


async def _publish_step(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                        user_id: int, i18n: I18n) -> None:
    """After the question: show the answer draft; after the answer: publish."""
    data = await state.get_data()
    if await state.get_state() == Lawyer.publish_question.state:
        await state.set_state(Lawyer.publish_answer)
        await message.answer(_("2/2. The answer, anonymised. Send a corrected or translated text, or keep it."))
        await message.answer(escape(data.get("answer", ""))[:4000], reply_markup=keep_keyboard(int(data["qid"])))
        return
    question = await desk.get(session, int(data["qid"]))
    entry = await faq.publish(session, question, language=data["language"], question_text=data["question"],
                              answer=data["answer"], law_refs=data.get("refs"), by=user_id)
    await state.clear()
    await message.answer(_("Published in the FAQ under “{topic}” ({language}).").format(
        topic=topic_label(entry.topic), language=FAQ_LANGUAGE_NAMES[entry.language]))


@router.callback_query(LawCB.filter(F.action == "keep"))
async def on_keep(query: CallbackQuery, callback_data: LawCB, state: FSMContext, session: AsyncSession,
                  roles: Roles | None, settings: Settings, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    current = await state.get_state()
    if current not in (Lawyer.publish_question.state, Lawyer.publish_answer.state) \
            or int(data.get("qid", -1)) != callback_data.qid:
        await refuse(query, "stale keep")
        return
    if await lawyer_question(query, roles, session, callback_data.qid) is None:
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await _publish_step(query.message, state, session, settings, query.from_user.id, i18n)


@router.message(Lawyer.publish_question, F.text & ~F.text.startswith("/"))
@router.message(Lawyer.publish_answer, F.text & ~F.text.startswith("/"))
async def on_publish_text(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                          i18n: I18n, roles: Roles | None) -> None:
    assert message.from_user is not None and message.text is not None
    if roles is None or not roles.lawyer:
        await state.clear()
        return
    key = "question" if await state.get_state() == Lawyer.publish_question.state else "answer"
    await state.update_data(**{key: message.text})
    await _publish_step(message, state, session, settings, message.from_user.id, i18n)


# ---------------------------------------------------------------- admins: /stats and /member


def month_bounds(month: str | None, settings: Settings) -> tuple[datetime, datetime, str]:
    """[start, end) of a calendar month in the time zone (this month by default), in UTC."""
    zone = settings.zone
    today = datetime.now(zone)
    year, number = today.year, today.month
    if month:
        year_text, _sep, month_text = month.partition("-")
        year, number = int(year_text), int(month_text)
        if not 1 <= number <= 12:
            raise ValueError(month)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC), f"{year:04d}-{number:02d}"


def stats_text(stats: stats_service.HelpdeskStats, language: str, settings: Settings, label: str) -> str:
    fmt = Formatter(language, settings.zone)

    def hours(value: float | None) -> str:
        return "—" if value is None else _("{hours} working h").format(hours=fmt.number(round(value, 1)))

    lines = [
        _("<b>Legal helpdesk, {month}</b>").format(month=label),
        _("Questions: {asked}, from {places} municipalities; answered {answered}, closed {closed}.").format(
            asked=fmt.number(stats.asked), places=fmt.number(stats.municipalities),
            answered=fmt.number(stats.answered), closed=fmt.number(stats.closed)),
        _("Time to the first answer: median {median}, 90th percentile {p90}.").format(
            median=hours(stats.median_first_answer), p90=hours(stats.p90_first_answer)),
        _("Time to close: median {median}, 90th percentile {p90}.").format(
            median=hours(stats.median_close), p90=hours(stats.p90_close)),
        _("Ratings: {count}, average {average}; “it helped”: {helped}.").format(
            count=fmt.number(stats.rated),
            average="—" if stats.average_rating is None else fmt.number(round(stats.average_rating, 2)),
            helped=fmt.number(stats.helped)),
        _("Open now: {open} (waiting {waiting}, in work {taken}, waiting for details {details}); overdue "
          "{overdue}.").format(open=fmt.number(stats.open_total), waiting=fmt.number(stats.backlog.get("waiting", 0)),
                               taken=fmt.number(stats.backlog.get("taken", 0)),
                               details=fmt.number(stats.backlog.get("needs_details", 0)),
                               overdue=fmt.number(stats.overdue)),
        "",
        _("<b>By topic</b>"),
    ]
    lines += [f"• {topic_label(t)}: {fmt.number(n)}" for t, n in stats.by_topic.items() if n]
    lines += ["", _("<b>By municipality</b>")]
    for code, count in stats.by_municipality.items():
        names = stats.municipality_names.get(code)
        name = (names[1] if language == "ru" else names[0]) if names else "—"
        lines.append(f"• {escape(name)}: {fmt.number(count)}")
    return "\n".join(lines)


def topic_labels() -> dict[str, str]:
    return {topic: topic_label(topic) for topic in desk.TOPICS}


@router.message(Command("stats"), HasRole(Role.ADMIN))
async def on_stats(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                   i18n: I18n) -> None:
    try:
        start, end, label = month_bounds((command.args or "").strip() or None, settings)
    except ValueError:
        await message.answer(_("Please write it like this: <code>/stats 2026-11</code> (or just /stats for this "
                               "month)."))
        return
    stats = await stats_service.compute(session, start, end, config_of(settings), datetime.now(UTC))
    builder = InlineKeyboardBuilder()
    builder.button(text="CSV", callback_data=StatsCB(fmt="csv", month=label))
    builder.button(text="XLSX", callback_data=StatsCB(fmt="xlsx", month=label))
    await message.answer(stats_text(stats, i18n.current_locale, settings, label), reply_markup=builder.as_markup())
    if stats.asked:
        png = stats_service.chart_png(stats, topic_labels(), _("Questions by topic, {month}").format(month=label))
        await message.answer_photo(BufferedInputFile(png, f"helpdesk-{label}.png"))


@router.callback_query(StatsCB.filter())
async def on_stats_file(query: CallbackQuery, callback_data: StatsCB, session: AsyncSession, roles: Roles | None,
                        settings: Settings) -> None:
    assert isinstance(query.message, Message)
    if roles is None or not roles.admin or callback_data.fmt not in ("csv", "xlsx"):
        await refuse(query, "stats file for a non-admin")
        return
    try:
        start, end, label = month_bounds(callback_data.month, settings)
    except ValueError:
        await refuse(query, "bad month")
        return
    stats = await stats_service.compute(session, start, end, config_of(settings), datetime.now(UTC))
    data = stats_service.to_csv(stats) if callback_data.fmt == "csv" else stats_service.to_xlsx(stats)
    await query.answer()
    await query.message.answer_document(BufferedInputFile(data, f"helpdesk-{label}.{callback_data.fmt}"))


@router.message(Command("member"), HasRole(Role.ADMIN))
async def on_member(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                    i18n: I18n) -> None:
    """/member PERSON staff|deputy AIYL_AIMAK, /member remove PERSON, /member (the list)."""
    from handlers.admin import UsageError, resolve_person

    assert message.from_user is not None
    words = (command.args or "").split()
    usage = _("Please write it like this:\n<code>/member 123456789 staff kok-irim</code> (staff or deputy of a "
              "member municipality)\n<code>/member remove 123456789</code>\n<code>/member</code>: the list")
    try:
        if not words:
            members = await desk.list_members(session)
            lines = [_("<b>Who may ask the legal helpdesk</b>")]
            for member in members:
                lines.append(f"• {member.telegram_id}: {member.capacity}, "
                             f"{escape(place_name(member.aiyl_aimak, i18n.current_locale))}")
            if not members:
                lines.append(_("Nobody yet."))
            await message.answer("\n".join(lines))
            return
        if words[0].lower() == "remove" and len(words) == 2:
            telegram_id = await resolve_person(session, settings, words[1])
            removed = await desk.remove_member(session, telegram_id, by=message.from_user.id)
            await message.answer(_("Done: {person} may no longer ask the helpdesk.").format(person=telegram_id)
                                 if removed else _("{person} was not on the list.").format(person=telegram_id))
            return
        if len(words) != 3 or words[1].lower() not in desk.CAPACITIES:
            raise UsageError(command.args or "")
        telegram_id = await resolve_person(session, settings, words[0])
        aimak = await find_aiyl_aimak(session, words[2].lower())
        if aimak is None:
            raise UsageError(words[2])
        await desk.add_member(session, telegram_id, aimak.id, words[1].lower(), by=message.from_user.id)
    except UsageError:
        await message.answer(usage)
        return
    await message.answer(_("Done: {person} may ask the legal helpdesk for {place}.").format(
        person=telegram_id, place=place_name(aimak, i18n.current_locale)))
