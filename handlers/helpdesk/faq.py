"""Lawyers publish an answered question to the FAQ, in each language."""

from __future__ import annotations

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk import views
from handlers.helpdesk.buttons import LawCB
from handlers.helpdesk.common import lawyer_question, refuse
from handlers.helpdesk.states import Lawyer
from handlers.helpdesk.views import FAQ_LANGUAGE_NAMES, keep_keyboard, topic_label
from services import helpdesk as desk
from services.people import person_by_telegram_id
from services.places import list_villages
from services.roles import Roles
from storage.helpdesk import Question

router = Routes("helpdesk_faq")


# ---------------------------------------------------------------- publishing to the FAQ


@router.callback_query(LawCB.filter(F.action == "publish"))
async def on_publish(query: CallbackQuery, message: Message, callback_data: LawCB, session: AsyncSession,
                     roles: Roles | None) -> None:
    question = await lawyer_question(query, roles, session, callback_data.qid)
    if question is None or question.status not in (desk.ANSWERED, desk.CLOSED):
        if question is not None:
            await refuse(query, "publish before the answer")
        return
    await query.answer()
    await message.answer(_("In which language do you publish question No. {number}? You can publish it in "
                           "both, one after the other.").format(number=question.id),
                         reply_markup=views.faq_languages_keyboard(question.id))


@router.callback_query(LawCB.filter(F.action == "pub_lang"))
async def on_publish_language(query: CallbackQuery, message: Message, callback_data: LawCB, state: FSMContext,
                              session: AsyncSession, roles: Roles | None) -> None:
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
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("1/2. The question, anonymised (names, phone numbers and the municipality "
                           "removed). Check it: send a corrected or translated text, or keep it."))
    await message.answer(escape(question_draft)[:4000], reply_markup=keep_keyboard(question.id))


async def _publish_step(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, user_id: int,
                        i18n: I18n) -> None:
    """After the question: show the answer draft; after the answer: publish."""
    data = await state.get_data()
    if await state.get_state() == Lawyer.publish_question.state:
        await state.set_state(Lawyer.publish_answer)
        await message.answer(_("2/2. The answer, anonymised. Send a corrected or translated text, or keep it."))
        await message.answer(escape(data.get("answer", ""))[:4000], reply_markup=keep_keyboard(int(data["qid"])))
        return
    from services import faq  # the FAQ: loaded when a lawyer publishes an answer

    question = await desk.get(session, int(data["qid"]))
    entry = await faq.publish(session, question, language=data["language"], question_text=data["question"],
                              answer=data["answer"], law_refs=data.get("refs"), by=user_id)
    await state.clear()
    await message.answer(_("Published in the FAQ under “{topic}” ({language}).").format(
        topic=topic_label(entry.topic), language=FAQ_LANGUAGE_NAMES[entry.language]))


@router.callback_query(LawCB.filter(F.action == "keep"))
async def on_keep(query: CallbackQuery, message: Message, callback_data: LawCB, state: FSMContext,
                  session: AsyncSession, roles: Roles | None, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    current = await state.get_state()
    if current not in (Lawyer.publish_question.state, Lawyer.publish_answer.state) \
            or int(data.get("qid", -1)) != callback_data.qid:
        await refuse(query, "stale keep")
        return
    if await lawyer_question(query, roles, session, callback_data.qid) is None:
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await _publish_step(message, state, session, settings, query.from_user.id, i18n)


@router.message(Lawyer.publish_question, F.text & ~F.text.startswith("/"))
@router.message(Lawyer.publish_answer, F.text & ~F.text.startswith("/"))
async def on_publish_text(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, i18n: I18n,
                          roles: Roles | None) -> None:
    assert message.from_user is not None and message.text is not None
    if roles is None or not roles.lawyer:
        await state.clear()
        return
    key = "question" if await state.get_state() == Lawyer.publish_question.state else "answer"
    await state.update_data(**{key: message.text})
    await _publish_step(message, state, session, settings, message.from_user.id, i18n)


async def drafts(session: AsyncSession, question: Question) -> tuple[str, str, str | None]:
    """The question and the last answer, anonymised: names, phone numbers and the municipality removed."""
    from services import faq

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
