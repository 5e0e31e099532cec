"""Villagers: /plan shows the aiyl aimak's plan and lets them follow it; answers to monitoring prompts (status →
percent → comment → optional photo) and the 1–5 satisfaction score. Every button is checked again."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.plan.buttons import FollowCB, MonitorCB, ScoreCB
from handlers.plan.states import MonitorAnswer
from handlers.plan.views import follow_keyboard, percent_keyboard, plan_text, score_keyboard, skip_keyboard, status_text
from services import plan as plans
from services.plan import PlanError
from storage.models import Person

log = logging.getLogger(__name__)
router = Routes("plan_villager")


@router.message(Command("plan"))
async def on_plan(message: Message, session: AsyncSession, person: Person | None, i18n: I18n,
                  settings: Settings) -> None:
    if person is None or not person.is_registered:
        await message.answer(_("Please register first with /start, then /plan shows your aiyl aimak's plan."))
        return
    plan = await plans.current_plan(session, person.aiyl_aimak_id)
    if plan is None:
        await message.answer(_("Your aiyl aimak has no joint action plan in Jamaat yet."))
        return
    language = i18n.current_locale
    text = await plan_text(session, plan, language, Formatter(language, settings.zone))
    following = await plans.is_following(session, plan.id, person.id)
    text += "\n\n" + (_("You follow this plan: you are told when an activity changes status.") if following
                      else _("Follow the plan to be told when an activity changes status."))
    await message.answer(text, reply_markup=follow_keyboard(plan.id, following))


@router.callback_query(FollowCB.filter())
async def on_follow(query: CallbackQuery, message: Message, callback_data: FollowCB, session: AsyncSession,
                    person: Person | None) -> None:
    plan = await plans.get_plan(session, callback_data.plan)
    try:
        if plan is None or person is None:
            raise PlanError("not_found")
        if callback_data.on:
            await plans.follow(session, plan, person)
        else:
            await plans.unfollow(session, plan.id, person.id)
    except PlanError:
        log.warning("refused follow button %r from %s", query.data, query.from_user.id)
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer(_("You follow the plan now.") if callback_data.on else _("You no longer follow the plan."))
    await message.edit_reply_markup(reply_markup=follow_keyboard(plan.id, callback_data.on))


# Monitoring answers


async def _check(query: CallbackQuery, session: AsyncSession, person: Person | None,
                 occasion_id: int) -> plans.Prompt | None:
    try:
        return await plans.check_may_answer(session, occasion_id, person)
    except PlanError as exc:
        log.warning("refused monitoring button %r from %s: %s", query.data, query.from_user.id, exc.code)
        if exc.code == "not_a_monitor":
            await query.answer(_("Only members of the monitoring group can answer this question."), show_alert=True)
        elif exc.code == "activity_closed":
            await query.answer(_("This activity was cancelled; no answer is needed."), show_alert=True)
        else:
            await query.answer(_("This button is no longer active."), show_alert=True)
        return None


@router.callback_query(MonitorCB.filter(F.action == "st"))
async def on_status(query: CallbackQuery, message: Message, callback_data: MonitorCB, state: FSMContext,
                    session: AsyncSession, person: Person | None, i18n: I18n, settings: Settings) -> None:
    prompt = await _check(query, session, person, callback_data.occ)
    if prompt is None:
        return
    if callback_data.value not in plans.STATUSES:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await state.set_state(MonitorAnswer.percent)
    await state.set_data({"occ": callback_data.occ, "status": callback_data.value})
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.value == "done":
        await state.update_data(percent=100)
        await ask_comment(message, state, callback_data.occ)
        return
    await message.answer(
        _("Status: {status} ✓\nHow much of “{activity}” is done?").format(
            status=status_text(callback_data.value), activity=escape(prompt.activity.title)),
        reply_markup=percent_keyboard(callback_data.occ, fmt))


async def ask_comment(message: Message, state: FSMContext, occasion_id: int) -> None:
    await state.set_state(MonitorAnswer.comment)
    await message.answer(_("Please write a short comment or send a voice message: what did you see? Or press Skip."),
                         reply_markup=skip_keyboard(occasion_id, "skipc"))


async def ask_photo(message: Message, state: FSMContext, occasion_id: int) -> None:
    await state.set_state(MonitorAnswer.photo)
    await message.answer(_("If you have a photo of the work, send it now. Or press Skip."),
                         reply_markup=skip_keyboard(occasion_id, "skipp"))


async def _matches(query: CallbackQuery, state: FSMContext, occasion_id: int, *states: State) -> bool:
    data = await state.get_data()
    if await state.get_state() not in {s.state for s in states} or data.get("occ") != occasion_id:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return False
    return True


@router.callback_query(MonitorCB.filter(F.action == "pct"))
async def on_percent(query: CallbackQuery, message: Message, callback_data: MonitorCB, state: FSMContext,
                     session: AsyncSession, person: Person | None) -> None:
    if await _check(query, session, person, callback_data.occ) is None:
        return
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.percent):
        return
    if not callback_data.value.isdigit() or int(callback_data.value) > 100:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.update_data(percent=int(callback_data.value))
    await ask_comment(message, state, callback_data.occ)


@router.message(MonitorAnswer.comment, F.text & ~F.text.startswith("/"))
async def on_comment(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(comment=message.text[:2000])
    await ask_photo(message, state, int((await state.get_data())["occ"]))


@router.message(MonitorAnswer.comment, F.voice)
async def on_voice_comment(message: Message, state: FSMContext) -> None:
    """The comment as a voice note: kept as said (its file id), no transcript."""
    assert message.voice is not None
    await state.update_data(voice=message.voice.file_id)
    await ask_photo(message, state, int((await state.get_data())["occ"]))


@router.message(MonitorAnswer.comment, F.photo)
@router.message(MonitorAnswer.photo, F.photo)
async def on_photo(message: Message, state: FSMContext, session: AsyncSession, person: Person | None, i18n: I18n,
                   settings: Settings) -> None:
    assert message.photo
    if message.caption and not (await state.get_data()).get("comment"):
        await state.update_data(comment=message.caption[:2000])
    await save(message, state, session, person, i18n, settings, photo=message.photo[-1].file_id)


@router.callback_query(MonitorCB.filter(F.action == "skipc"))
async def on_skip_comment(query: CallbackQuery, message: Message, callback_data: MonitorCB, state: FSMContext) -> None:
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.comment):
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await ask_photo(message, state, callback_data.occ)


@router.callback_query(MonitorCB.filter(F.action == "skipp"))
async def on_skip_photo(query: CallbackQuery, message: Message, callback_data: MonitorCB, state: FSMContext,
                        session: AsyncSession, person: Person | None, i18n: I18n, settings: Settings) -> None:
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.photo):
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await save(message, state, session, person, i18n, settings, photo=None)


@router.message(MonitorAnswer.photo, F.text & ~F.text.startswith("/"))
async def on_text_instead_of_photo(message: Message, state: FSMContext) -> None:
    await message.answer(_("Please send a photo, or press Skip."),
                         reply_markup=skip_keyboard(int((await state.get_data())["occ"]), "skipp"))


async def save(message: Message, state: FSMContext, session: AsyncSession, person: Person | None, i18n: I18n,
               settings: Settings, *, photo: str | None) -> None:
    data = await state.get_data()
    await state.clear()
    try:
        answer, _change = await plans.record_answer(session, int(data["occ"]), person, status=data["status"],
                                                    percent=int(data.get("percent", 0)),
                                                    comment=data.get("comment", ""), photo_file_id=photo,
                                                    voice_file_id=data.get("voice"))
    except PlanError as exc:
        log.warning("refused a monitoring answer from %s: %s", message.chat.id, exc.code)
        await message.answer(_("Sorry, this answer cannot be taken any more."))
        return
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(_("Thank you, your monitoring answer is saved: {status}, {progress} done.").format(
        status=status_text(answer.status), progress=fmt.percent(answer.percent / 100)))


# Satisfaction


@router.callback_query(ScoreCB.filter())
async def on_score(query: CallbackQuery, message: Message, callback_data: ScoreCB, session: AsyncSession,
                   person: Person | None) -> None:
    try:
        await plans.record_score(session, callback_data.occ, person, callback_data.score)
    except PlanError as exc:
        log.warning("refused survey button %r from %s: %s", query.data, query.from_user.id, exc.code)
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_text(
        (message.html_text or "") + "\n\n" + _("Your answer: {score} of 5. Thank you!").format(
            score=callback_data.score),
        reply_markup=score_keyboard(callback_data.occ))
