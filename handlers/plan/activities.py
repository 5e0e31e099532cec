"""Organisers add activities step by step (priority, title, responsible, dates, funding, result, indicators,
monitoring schedule) and record their status and money spent."""

from __future__ import annotations

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.admin.common import UsageError, resolve_person
from handlers.plan import setup_views
from handlers.plan.buttons import OrgCB
from handlers.plan.common import (
    activity_of,
    ask_dates,
    ask_funding,
    button_step,
    create_activity,
    plan_of,
    refuse,
    show_activity,
    state_plan,
    typed_dates,
)
from handlers.plan.states import PlanEdit
from handlers.plan.views import error_text, fmt_of, status_text
from services import plan as plans
from services import plan_report
from services.plan import PlanError
from services.roles import Role, Roles
from storage.models import Person

router = Routes("plan_activities")
router.message.filter(HasRole(Role.ORGANISER))
router.callback_query.filter(HasRole(Role.ORGANISER))


# --------------------------------------------------------------------------- a new activity, step by step


@router.callback_query(OrgCB.filter(F.action == "add"))
async def on_add(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                 i18n: I18n) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan))
    if plan is None:
        return
    priorities = await plans.priorities_of(session, plan.id)
    await message.answer(_("Which priority problem is the activity for?"),
                         reply_markup=setup_views.priorities_keyboard(plan.id, priorities, i18n.current_locale))


@router.callback_query(OrgCB.filter(F.action == "prio"))
async def on_priority(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                      session: AsyncSession, roles: Roles) -> None:
    plan = await plan_of(query, session, roles, callback_data.plan)
    if plan is None:
        return
    if callback_data.item and callback_data.item not in {p.id for p in await plans.priorities_of(session, plan.id)}:
        await refuse(query)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.set_state(PlanEdit.title)
    await state.set_data({"plan": plan.id, "priority": callback_data.item or None, "funding": {}})
    await message.answer(_("The activity's title, e.g. “Repair of the club roof”:"))


@router.message(PlanEdit.title, F.text & ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    if len(message.text.strip()) < 3:
        await message.answer(error_text("empty_title"))
        return
    await state.update_data(title=message.text.strip()[:300])
    await state.set_state(PlanEdit.responsible)
    plan_id = int((await state.get_data())["plan"])
    await message.answer(_("Who is responsible?"), reply_markup=setup_views.responsible_keyboard(plan_id))


@router.callback_query(PlanEdit.responsible, OrgCB.filter(F.action == "resp"))
async def on_responsible(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                         session: AsyncSession, roles: Roles) -> None:
    if await button_step(query, message, plan_of(query, session, roles, callback_data.plan),
                         valid=callback_data.value in plans.RESPONSIBLE_KINDS, close=True) is None:
        return
    await state.update_data(responsible=callback_data.value)
    if callback_data.value == "person":
        await state.set_state(PlanEdit.responsible_name)
        await message.answer(_("The responsible person: a registered villager's phone number or Telegram id "
                               "(they will get the notices), or just a name."))
        return
    await ask_dates(message, state)


@router.message(PlanEdit.responsible_name, F.text & ~F.text.startswith("/"))
async def on_responsible_name(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                              settings: Settings) -> None:
    assert message.text is not None
    plan = await state_plan(message, state, session, roles)
    if plan is None:
        return
    word = message.text.strip()
    person = None
    if any(c.isdigit() for c in word) and len(word.split()) == 1:
        try:
            person = await plans.villager_of(session, plan, telegram_id=await resolve_person(session, settings, word))
        except (UsageError, PlanError) as exc:
            await message.answer(error_text(getattr(exc, "code", "not_registered")))
            return
    await state.update_data(person=person.id if person else None,
                            name=(person.first_name or "") if person else word[:200])
    await ask_dates(message, state)


@router.message(PlanEdit.dates, F.text & ~F.text.startswith("/"))
async def on_dates(message: Message, state: FSMContext) -> None:
    days = await typed_dates(message, 2)
    if days is None:
        return
    if days[1] < days[0]:
        await message.answer(error_text("bad_dates"))
        return
    await state.update_data(starts=days[0].isoformat(), due=days[1].isoformat())
    await ask_funding(message, state)


@router.callback_query(PlanEdit.funding, OrgCB.filter(F.action == "src"))
async def on_source(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                    session: AsyncSession, roles: Roles) -> None:
    if await button_step(query, message, plan_of(query, session, roles, callback_data.plan),
                         valid=callback_data.value in plans.SOURCES, close=True) is None:
        return
    await state.update_data(source=callback_data.value)
    await state.set_state(PlanEdit.amount)
    await message.answer(_("Amount from {source}, in som:").format(
        source=plan_report.source_label(callback_data.value, _)))


@router.message(PlanEdit.amount, F.text & ~F.text.startswith("/"))
async def on_amount(message: Message, state: FSMContext, i18n: I18n, settings: Settings) -> None:
    assert message.text is not None
    try:
        amount = plans.parse_som(message.text)
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    data = await state.get_data()
    funding = dict(data.get("funding", {}))
    funding[data["source"]] = amount
    await state.update_data(funding=funding)
    await ask_funding(message, state, fmt_of(i18n, settings))


@router.callback_query(PlanEdit.funding, OrgCB.filter(F.action == "srcdone"))
async def on_funding_done(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                          session: AsyncSession, roles: Roles) -> None:
    if await button_step(query, message, plan_of(query, session, roles, callback_data.plan), close=True) is None:
        return
    await state.set_state(PlanEdit.result)
    await message.answer(_("The expected result, e.g. “The club is used in winter”:"))


@router.message(PlanEdit.result, F.text & ~F.text.startswith("/"))
async def on_result(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(result=message.text.strip()[:2000])
    await state.set_state(PlanEdit.indicators)
    await message.answer(_("Indicators: how will you know it is done (e.g. “roof repaired; act of completed "
                           "works signed”)?"))


@router.message(PlanEdit.indicators, F.text & ~F.text.startswith("/"))
async def on_indicators(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(indicators=message.text.strip()[:2000])
    await state.set_state(PlanEdit.schedule)
    plan_id = int((await state.get_data())["plan"])
    await message.answer(_("When should the monitoring group check it?"),
                         reply_markup=setup_views.monitoring_keyboard(plan_id))


@router.callback_query(PlanEdit.schedule, OrgCB.filter(F.action == "mon"))
async def on_schedule(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                      session: AsyncSession, roles: Roles, i18n: I18n, settings: Settings) -> None:
    if await button_step(query, message, plan_of(query, session, roles, callback_data.plan),
                         valid=callback_data.value in ("1", "3", "dates", "none"), close=True) is None:
        return
    if callback_data.value == "dates":
        await state.set_state(PlanEdit.schedule_dates)
        await message.answer(_("The monitoring dates, e.g. <code>15.05.2026 15.06.2026</code>:"))
        return
    every = int(callback_data.value) if callback_data.value.isdigit() else None
    await create_activity(message, state, session, roles, i18n, settings, every_months=every, dates=[])


@router.message(PlanEdit.schedule_dates, F.text & ~F.text.startswith("/"))
async def on_schedule_dates(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                            settings: Settings) -> None:
    days = await typed_dates(message)
    if days is None:
        return
    await create_activity(message, state, session, roles, i18n, settings, every_months=None, dates=days)


# --------------------------------------------------------------------------- an activity: status and money


@router.callback_query(OrgCB.filter(F.action == "act"))
async def on_activity(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                      i18n: I18n, settings: Settings) -> None:
    found = await button_step(query, message, activity_of(query, session, roles, callback_data.item))
    if found is None:
        return
    await show_activity(message, session, *found, fmt_of(i18n, settings))


@router.callback_query(OrgCB.filter(F.action == "st"))
async def on_set_status(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession,
                        roles: Roles, person: Person | None, i18n: I18n, settings: Settings) -> None:
    found = await activity_of(query, session, roles, callback_data.item)
    if found is None:
        return
    plan, activity = found
    try:
        change = await plans.set_status(session, activity, callback_data.value, by=query.from_user.id,
                                        by_person_id=person.id if person else None)
    except PlanError as exc:
        await refuse(query, exc.code)
        return
    await query.answer(_("Status: {status}").format(status=status_text(activity.status)) if change else None)
    if change:
        await show_activity(message, session, plan, activity, fmt_of(i18n, settings), edit=True)


@router.callback_query(OrgCB.filter(F.action == "spent"))
async def on_spent(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession,
                   roles: Roles) -> None:
    found = await button_step(query, message, activity_of(query, session, roles, callback_data.item))
    if found is None:
        return
    plan, activity = found
    sources = [r.source for r in (await plans.funding_of(session, [activity.id])).get(activity.id, [])]
    await message.answer(_("Money spent so far on “{activity}”: from which source?").format(
        activity=escape(activity.title)), reply_markup=setup_views.spent_sources_keyboard(plan, activity, sources))


@router.callback_query(OrgCB.filter(F.action == "spsrc"))
async def on_spent_source(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                          session: AsyncSession, roles: Roles) -> None:
    found = await button_step(query, message, activity_of(query, session, roles, callback_data.item),
                              valid=callback_data.value in plans.SOURCES, close=True)
    if found is None:
        return
    await state.set_state(PlanEdit.spent)
    await state.set_data({"plan": found[0].id, "activity": found[1].id, "source": callback_data.value})
    await message.answer(_("Spent so far from {source}, in som (the total, not an addition):").format(
        source=plan_report.source_label(callback_data.value, _)))


@router.message(PlanEdit.spent, F.text & ~F.text.startswith("/"))
async def on_spent_amount(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                          settings: Settings) -> None:
    assert message.text is not None
    data = await state.get_data()
    try:
        plan, activity = await plans.activity_for_organiser(session, roles, int(data["activity"]))
        await plans.set_funding(session, activity, data["source"], spent=plans.parse_som(message.text),
                                by=message.chat.id)
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        if exc.code == "not_found":
            await state.clear()
        return
    await state.clear()
    await show_activity(message, session, plan, activity, fmt_of(i18n, settings))
