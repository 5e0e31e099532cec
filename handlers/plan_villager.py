"""The joint action plan for villagers: /plan (their aiyl aimak's plan with progress, follow / unfollow),
answers to monitoring prompts (status → percent → comment → optional photo) and the 1–5 satisfaction question.

Every button is checked again: a villager outside the monitoring group, or of another aiyl aimak, changes
nothing, whatever the button data says."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from services import plan as plans
from services import plan_report
from services.plan import PlanError
from storage.models import Person, utcnow
from storage.plan import Plan

log = logging.getLogger(__name__)
router = Routes("plan_villager")
MAX_CARD = 3600  # the plan card stays within one message (4096), room left for a line or two more


class MonitorCB(CallbackData, prefix="pm"):
    occ: int
    action: str  # st (status) | pct (percent) | skipc (no comment) | skipp (no photo)
    value: str = ""


class ScoreCB(CallbackData, prefix="ps"):
    occ: int
    score: int


class FollowCB(CallbackData, prefix="pf"):
    plan: int
    on: bool


class MonitorAnswer(StatesGroup):
    percent = State()
    comment = State()
    photo = State()


def escape(text: str | None) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def status_text(status: str) -> str:
    return plan_report.status_label(status, _)


def status_keyboard(occasion_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for status in plans.STATUSES:
        builder.button(text=status_text(status), callback_data=MonitorCB(occ=occasion_id, action="st", value=status))
    builder.adjust(2)
    return builder.as_markup()


def percent_keyboard(occasion_id: int, fmt: Formatter) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for percent in plans.PERCENTS:
        builder.button(text=fmt.percent(percent / 100),
                       callback_data=MonitorCB(occ=occasion_id, action="pct", value=str(percent)))
    builder.adjust(len(plans.PERCENTS))
    return builder.as_markup()


def skip_keyboard(occasion_id: int, action: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip"), callback_data=MonitorCB(occ=occasion_id, action=action))
    return builder.as_markup()


def score_keyboard(occasion_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(text=str(score), callback_data=ScoreCB(occ=occasion_id, score=score))
    builder.adjust(5)
    return builder.as_markup()


def progress_bar(share: float | None, width: int = 10) -> str:
    filled = round((share or 0) * width)
    return "▓" * filled + "░" * (width - filled)


async def plan_text(session: AsyncSession, plan: Plan, language: str, fmt: Formatter) -> str:
    """The plan as villagers see it: priorities, activities with status and progress, money and approval."""
    activities = await plans.activities_of(session, plan.id)
    priorities = await plans.priorities_of(session, plan.id)
    funding = await plans.funding_of(session, [a.id for a in activities])
    progress = plans.plan_progress(activities)
    lines = [_("📋 <b>Joint action plan: {title}</b>").format(title=escape(plan.title))]
    if plan.council_approved_on:
        lines.append(_("Approved by the local council on {day}.").format(day=fmt.date(plan.council_approved_on)))
    else:
        lines.append(_("Not yet approved by the local council."))
    lines.append(_("Progress: {bar} {share}").format(bar=progress_bar(progress),
                                                     share=fmt.percent(progress) if progress is not None else "—"))
    today = plans.local_day(utcnow(), fmt.zone)
    by_priority: dict[int | None, list] = {}
    for activity in activities:
        by_priority.setdefault(activity.priority_id, []).append(activity)
    for position, priority in enumerate([*priorities, None], start=1):
        items = by_priority.get(priority.id if priority else None, [])
        if priority is None and not items:
            continue
        title = escape(plans.priority_title(priority, language)) if priority else _("Other activities")
        lines.append("")
        lines.append(f"<b>{position}. {title}</b>")
        if not items:
            lines.append(_("   no activities yet"))
        for activity in items:
            done = 100 if activity.status == "done" else activity.progress
            money = sum((r.planned_som for r in funding.get(activity.id, [])), 0)
            line = _("   • {title}: {status}, {progress}; due {due}").format(
                title=escape(activity.title), status=status_text(activity.status), progress=fmt.percent(done / 100),
                due=fmt.date(activity.due_on))
            if money:
                line += _("; {amount} som").format(amount=fmt.number(money))
            if plans.is_overdue(activity, today):
                line += " ⏰"
            lines.append(line)
    text = "\n".join(lines)
    return text if len(text) <= MAX_CARD else text[: text.rfind("\n", 0, MAX_CARD)] + "\n…"


def follow_keyboard(plan_id: int, following: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if following:
        builder.button(text=_("🔕 Stop following"), callback_data=FollowCB(plan=plan_id, on=False))
    else:
        builder.button(text=_("🔔 Follow the plan"), callback_data=FollowCB(plan=plan_id, on=True))
    return builder.as_markup()


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
async def on_follow(query: CallbackQuery, callback_data: FollowCB, session: AsyncSession,
                    person: Person | None) -> None:
    assert isinstance(query.message, Message)
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
    await query.message.edit_reply_markup(reply_markup=follow_keyboard(plan.id, callback_data.on))


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
async def on_status(query: CallbackQuery, callback_data: MonitorCB, state: FSMContext, session: AsyncSession,
                    person: Person | None, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
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
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.value == "done":
        await state.update_data(percent=100)
        await ask_comment(query.message, state, callback_data.occ)
        return
    await query.message.answer(
        _("Status: {status} ✓\nHow much of “{activity}” is done?").format(
            status=status_text(callback_data.value), activity=escape(prompt.activity.title)),
        reply_markup=percent_keyboard(callback_data.occ, fmt))


async def ask_comment(message: Message, state: FSMContext, occasion_id: int) -> None:
    await state.set_state(MonitorAnswer.comment)
    await message.answer(_("Please write a short comment: what did you see? Or press Skip."),
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
async def on_percent(query: CallbackQuery, callback_data: MonitorCB, state: FSMContext, session: AsyncSession,
                     person: Person | None) -> None:
    assert isinstance(query.message, Message)
    if await _check(query, session, person, callback_data.occ) is None:
        return
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.percent):
        return
    if not callback_data.value.isdigit() or int(callback_data.value) > 100:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.update_data(percent=int(callback_data.value))
    await ask_comment(query.message, state, callback_data.occ)


@router.message(MonitorAnswer.comment, F.text & ~F.text.startswith("/"))
async def on_comment(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(comment=message.text[:2000])
    await ask_photo(message, state, int((await state.get_data())["occ"]))


@router.message(MonitorAnswer.comment, F.photo)
@router.message(MonitorAnswer.photo, F.photo)
async def on_photo(message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
                   i18n: I18n, settings: Settings) -> None:
    assert message.photo
    if message.caption and not (await state.get_data()).get("comment"):
        await state.update_data(comment=message.caption[:2000])
    await save(message, state, session, person, i18n, settings, photo=message.photo[-1].file_id)


@router.callback_query(MonitorCB.filter(F.action == "skipc"))
async def on_skip_comment(query: CallbackQuery, callback_data: MonitorCB, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.comment):
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await ask_photo(query.message, state, callback_data.occ)


@router.callback_query(MonitorCB.filter(F.action == "skipp"))
async def on_skip_photo(query: CallbackQuery, callback_data: MonitorCB, state: FSMContext, session: AsyncSession,
                        person: Person | None, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    if not await _matches(query, state, callback_data.occ, MonitorAnswer.photo):
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await save(query.message, state, session, person, i18n, settings, photo=None)


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
                                                    comment=data.get("comment", ""), photo_file_id=photo)
    except PlanError as exc:
        log.warning("refused a monitoring answer from %s: %s", message.chat.id, exc.code)
        await message.answer(_("Sorry, this answer cannot be taken any more."))
        return
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(_("Thank you, your monitoring answer is saved: {status}, {progress} done.").format(
        status=status_text(answer.status), progress=fmt.percent(answer.percent / 100)))


# Satisfaction


@router.callback_query(ScoreCB.filter())
async def on_score(query: CallbackQuery, callback_data: ScoreCB, session: AsyncSession,
                   person: Person | None) -> None:
    assert isinstance(query.message, Message)
    try:
        await plans.record_score(session, callback_data.occ, person, callback_data.score)
    except PlanError as exc:
        log.warning("refused survey button %r from %s: %s", query.data, query.from_user.id, exc.code)
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_text(
        (query.message.html_text or "") + "\n\n" + _("Your answer: {score} of 5. Thank you!").format(
            score=callback_data.score),
        reply_markup=score_keyboard(callback_data.occ))
