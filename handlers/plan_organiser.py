"""The joint action plan for organisers: /plans builds the plan in chat from a closed round's priorities —
activities (responsible, dates, funding by source, expected result, indicators, monitoring schedule), status
and money spent, initiative and monitoring groups with their composition and mandate, the council's approval,
satisfaction surveys and the monitoring report (chart, XLSX, DOCX).

Every button and step checks again that the plan belongs to one of the organiser's aiyl aimaks: another aiyl
aimak's plan is as good as missing."""

from __future__ import annotations

import logging
from datetime import date

from aiogram import F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from handlers.admin import UsageError, resolve_person
from handlers.plan_villager import escape, plan_text, status_text
from services import plan as plans
from services import plan_report
from services.places import place_name
from services.plan import ActivityInput, PlanError
from services.roles import Role, Roles
from storage.models import Person, Village
from storage.plan import Plan, PlanActivity, PlanGroup

log = logging.getLogger(__name__)
router = Routes("plan_organiser")
router.message.filter(HasRole(Role.ORGANISER))
router.callback_query.filter(HasRole(Role.ORGANISER))
MAX_BUTTONS = 60  # activity buttons on the plan card (Telegram allows 100 buttons a message)


class OrgCB(CallbackData, prefix="po"):
    action: str
    plan: int = 0
    item: int = 0
    value: str = ""


class PlanEdit(StatesGroup):
    title = State()
    responsible = State()
    responsible_name = State()
    dates = State()
    funding = State()
    amount = State()
    result = State()
    indicators = State()
    schedule = State()
    schedule_dates = State()
    members = State()
    mandate = State()
    group_name = State()
    approval = State()
    spent = State()
    survey = State()


def error_text(code: str) -> str:
    return {
        "not_found": _("This plan is not one of your aiyl aimaks' plans, or it no longer exists."),
        "round_not_closed": _("Only a closed round's priorities can make a plan."),
        "plan_exists": _("This round already has a plan."),
        "no_priorities": _("This round has no votes, so it has no priorities."),
        "bad_date": _("I could not read a date. Please write dates like 31.12.2026."),
        "bad_dates": _("The due date cannot be before the start."),
        "bad_amount": _("Please write an amount in som as a whole number, e.g. 400000."),
        "empty_title": _("Please write a title of at least three letters."),
        "not_registered": _("This person is not a registered villager."),
        "other_aiyl_aimak": _("This person lives in another aiyl aimak."),
        "bad_schedule": _("Please choose a schedule with the buttons."),
        "empty_mandate": _("Please write the order's number and date."),
    }.get(code, _("Sorry, that cannot be done."))


async def refuse(query: CallbackQuery, code: str = "not_found") -> None:
    log.warning("refused plan button %r from %s (%s)", query.data, query.from_user.id, code)
    await query.answer(error_text(code), show_alert=True)


def fmt_of(i18n: I18n, settings: Settings) -> Formatter:
    return Formatter(i18n.current_locale, settings.zone)


# --------------------------------------------------------------------------- cards


def plan_keyboard(plan: Plan, activities: list[PlanActivity]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    activities = activities[:MAX_BUTTONS]
    for number, activity in enumerate(activities, start=1):
        builder.button(text=f"{number}. {activity.title[:40]}", callback_data=OrgCB(action="act", plan=plan.id,
                                                                                    item=activity.id))
    builder.button(text=_("➕ Activity"), callback_data=OrgCB(action="add", plan=plan.id))
    builder.button(text=_("👥 Groups"), callback_data=OrgCB(action="groups", plan=plan.id))
    builder.button(text=_("✅ Council approval"), callback_data=OrgCB(action="approve", plan=plan.id))
    builder.button(text=_("⭐ Satisfaction survey"), callback_data=OrgCB(action="survey", plan=plan.id))
    builder.button(text=_("📊 Report"), callback_data=OrgCB(action="report", plan=plan.id))
    builder.adjust(*([1] * len(activities)), 2, 2, 1)
    return builder.as_markup()


async def survey_lines(session: AsyncSession, plan: Plan, language: str, fmt: Formatter) -> list[str]:
    lines = []
    villages = {v.id: v for v in await plans.villages_of(session, plan.aiyl_aimak_id)}
    for survey in await plans.surveys_of(session, plan.id):
        results = await plans.survey_results(session, survey)
        parts = [f"{place_name(villages[v], language)} {fmt.number(round(s.mean, 1))}"
                 for v, s in results.by_village.items() if v in villages and s.mean is not None]
        mean = results.overall.mean
        lines.append(_("⭐ {service}: {answers} answers, mean {mean} of 5 {villages}").format(
            service=plan_report.service_label(survey.service, _), answers=fmt.number(results.overall.answers),
            mean=fmt.number(round(mean, 1)) if mean is not None else "—",
            villages=f"({'; '.join(parts)})" if parts else "").strip())
    return lines


async def show_plan(message: Message, session: AsyncSession, plan: Plan, i18n: I18n, settings: Settings, *,
                    edit: bool = False) -> None:
    fmt = fmt_of(i18n, settings)
    text = await plan_text(session, plan, i18n.current_locale, fmt)
    extra = await survey_lines(session, plan, i18n.current_locale, fmt)
    if extra:
        text += "\n\n" + "\n".join(extra)
    markup = plan_keyboard(plan, await plans.activities_of(session, plan.id))
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def activity_text(session: AsyncSession, activity: PlanActivity, fmt: Formatter) -> str:
    funding = (await plans.funding_of(session, [activity.id])).get(activity.id, [])
    person = await session.get(Person, activity.responsible_person_id) if activity.responsible_person_id else None
    done = 100 if activity.status == "done" else activity.progress
    lines = [
        f"<b>{escape(activity.title)}</b>",
        _("Responsible: {who}").format(who=escape(plan_report.responsible_text(activity, person, _))),
        _("From {start} to {due}").format(start=fmt.date(activity.starts_on), due=fmt.date(activity.due_on)),
        _("Status: {status}, {progress} done").format(status=status_text(activity.status),
                                                      progress=fmt.percent(done / 100)),
    ]
    for row in funding:
        lines.append(_("• {source}: {planned} som planned, {spent} spent").format(
            source=plan_report.source_label(row.source, _), planned=fmt.number(row.planned_som),
            spent=fmt.number(row.spent_som)))
    if activity.expected_result:
        lines.append(_("Expected result: {result}").format(result=escape(activity.expected_result)))
    if activity.indicators:
        lines.append(_("Indicators: {indicators}").format(indicators=escape(activity.indicators)))
    days = plans.monitoring_dates(activity)
    lines.append(_("Monitoring: {dates}").format(
        dates=", ".join(fmt.date(d) for d in days[:6]) + (" …" if len(days) > 6 else "") if days else _("none")))
    return "\n".join(lines)


def activity_keyboard(plan: Plan, activity: PlanActivity) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for status in plans.STATUSES:
        mark = "✓ " if status == activity.status else ""
        builder.button(text=mark + status_text(status), callback_data=OrgCB(action="st", plan=plan.id,
                                                                            item=activity.id, value=status))
    builder.button(text=_("💰 Money spent"), callback_data=OrgCB(action="spent", plan=plan.id, item=activity.id))
    builder.button(text=_("◀️ The plan"), callback_data=OrgCB(action="open", plan=plan.id))
    builder.adjust(3, 2, 2)
    return builder.as_markup()


async def show_activity(message: Message, session: AsyncSession, plan: Plan, activity: PlanActivity,
                        fmt: Formatter, *, edit: bool = False) -> None:
    text = await activity_text(session, activity, fmt)
    markup = activity_keyboard(plan, activity)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


# --------------------------------------------------------------------------- /plans and making a plan


@router.message(Command("plans"))
async def on_plans(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    await state.clear()
    mine = await plans.plans_of(session, roles.organiser_of)
    rounds = await plans.closed_rounds_without_plan(session, roles.organiser_of)
    builder = InlineKeyboardBuilder()
    for plan in mine:
        builder.button(text=f"📋 {plan.title[:50]}", callback_data=OrgCB(action="open", plan=plan.id))
    for rnd in rounds:
        builder.button(text=_("➕ New plan from “{round}”").format(round=rnd.title[:40]),
                       callback_data=OrgCB(action="round", item=rnd.id))
    builder.adjust(1)
    if not mine and not rounds:
        await message.answer(_("No joint action plan yet. A plan is made from the priorities of a closed voting "
                               "round; close a round first."))
        return
    await message.answer(_("Joint action plans of your aiyl aimaks:"), reply_markup=builder.as_markup())


@router.callback_query(OrgCB.filter(F.action == "round"))
async def on_new_plan(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                      i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    try:
        plan = await plans.create_from_round(session, roles, callback_data.item, by=query.from_user.id)
    except PlanError as exc:
        await refuse(query, exc.code)
        return
    await query.answer(_("The plan is made from the round's priorities."))
    await show_plan(query.message, session, plan, i18n, settings)


async def _plan(query: CallbackQuery, session: AsyncSession, roles: Roles, plan_id: int) -> Plan | None:
    try:
        return await plans.plan_for_organiser(session, roles, plan_id)
    except PlanError as exc:
        await refuse(query, exc.code)
        return None


async def _activity(query: CallbackQuery, session: AsyncSession, roles: Roles,
                    activity_id: int) -> tuple[Plan, PlanActivity] | None:
    try:
        return await plans.activity_for_organiser(session, roles, activity_id)
    except PlanError as exc:
        await refuse(query, exc.code)
        return None


@router.callback_query(OrgCB.filter(F.action == "open"))
async def on_open(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                  roles: Roles, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await state.clear()
    await query.answer()
    await show_plan(query.message, session, plan, i18n, settings)


async def _state_plan(message: Message, state: FSMContext, session: AsyncSession, roles: Roles) -> Plan | None:
    """The plan a step is about, checked again (the role may have been taken away meanwhile)."""
    try:
        return await plans.plan_for_organiser(session, roles, int((await state.get_data()).get("plan", 0)))
    except PlanError as exc:
        await state.clear()
        await message.answer(error_text(exc.code))
        return None


# --------------------------------------------------------------------------- a new activity, step by step


@router.callback_query(OrgCB.filter(F.action == "add"))
async def on_add(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                 i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer()
    builder = InlineKeyboardBuilder()
    for priority in await plans.priorities_of(session, plan.id):
        builder.button(text=f"{priority.position}. {plans.priority_title(priority, i18n.current_locale)[:50]}",
                       callback_data=OrgCB(action="prio", plan=plan.id, item=priority.id))
    builder.button(text=_("Another activity"), callback_data=OrgCB(action="prio", plan=plan.id, item=0))
    builder.adjust(1)
    await query.message.answer(_("Which priority problem is the activity for?"), reply_markup=builder.as_markup())


@router.callback_query(OrgCB.filter(F.action == "prio"))
async def on_priority(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                      roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    if callback_data.item and callback_data.item not in {p.id for p in await plans.priorities_of(session, plan.id)}:
        await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(PlanEdit.title)
    await state.set_data({"plan": plan.id, "priority": callback_data.item or None, "funding": {}})
    await query.message.answer(_("The activity's title, e.g. “Repair of the club roof”:"))


@router.message(PlanEdit.title, F.text & ~F.text.startswith("/"))
async def on_title(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    if len(message.text.strip()) < 3:
        await message.answer(error_text("empty_title"))
        return
    await state.update_data(title=message.text.strip()[:300])
    await state.set_state(PlanEdit.responsible)
    builder = InlineKeyboardBuilder()
    plan_id = int((await state.get_data())["plan"])
    for kind in plans.RESPONSIBLE_KINDS:
        builder.button(text=plan_report.responsible_label(kind, _),
                       callback_data=OrgCB(action="resp", plan=plan_id, value=kind))
    builder.adjust(2)
    await message.answer(_("Who is responsible?"), reply_markup=builder.as_markup())


@router.callback_query(PlanEdit.responsible, OrgCB.filter(F.action == "resp"))
async def on_responsible(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                         roles: Roles) -> None:
    assert isinstance(query.message, Message)
    if await _plan(query, session, roles, callback_data.plan) is None:
        return
    if callback_data.value not in plans.RESPONSIBLE_KINDS:
        await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.update_data(responsible=callback_data.value)
    if callback_data.value == "person":
        await state.set_state(PlanEdit.responsible_name)
        await query.message.answer(_("The responsible person: a registered villager's phone number or Telegram id "
                                     "(they will get the notices), or just a name."))
        return
    await ask_dates(query.message, state)


@router.message(PlanEdit.responsible_name, F.text & ~F.text.startswith("/"))
async def on_responsible_name(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                              settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
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


async def ask_dates(message: Message, state: FSMContext) -> None:
    await state.set_state(PlanEdit.dates)
    await message.answer(_("Start and due dates, e.g. <code>01.04.2026 31.12.2026</code>:"))


@router.message(PlanEdit.dates, F.text & ~F.text.startswith("/"))
async def on_dates(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    try:
        days = plans.parse_dates(message.text)
        if len(days) != 2:
            raise PlanError("bad_date")
        if days[1] < days[0]:
            raise PlanError("bad_dates")
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    await state.update_data(starts=days[0].isoformat(), due=days[1].isoformat())
    await ask_funding(message, state)


async def ask_funding(message: Message, state: FSMContext, fmt: Formatter | None = None) -> None:
    await state.set_state(PlanEdit.funding)
    data = await state.get_data()
    builder = InlineKeyboardBuilder()
    for source in plans.SOURCES:
        builder.button(text=plan_report.source_label(source, _),
                       callback_data=OrgCB(action="src", plan=int(data["plan"]), value=source))
    builder.button(text=_("✔️ Done"), callback_data=OrgCB(action="srcdone", plan=int(data["plan"])))
    builder.adjust(2)
    funding: dict[str, int] = data.get("funding", {})
    lines = [_("Cost estimate and funding sources: choose a source, then write its amount in som. Several "
               "sources are fine. Press Done when all are in.")]
    if funding and fmt is not None:
        lines += [f"• {plan_report.source_label(s, _)}: {fmt.number(n)}" for s, n in funding.items()]
        lines.append(_("Total: {amount} som").format(amount=fmt.number(sum(funding.values()))))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(PlanEdit.funding, OrgCB.filter(F.action == "src"))
async def on_source(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                    roles: Roles) -> None:
    assert isinstance(query.message, Message)
    if await _plan(query, session, roles, callback_data.plan) is None:
        return
    if callback_data.value not in plans.SOURCES:
        await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.update_data(source=callback_data.value)
    await state.set_state(PlanEdit.amount)
    await query.message.answer(_("Amount from {source}, in som:").format(
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
async def on_funding_done(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                          roles: Roles) -> None:
    assert isinstance(query.message, Message)
    if await _plan(query, session, roles, callback_data.plan) is None:
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(PlanEdit.result)
    await query.message.answer(_("The expected result, e.g. “The club is used in winter”:"))


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
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Every month"), callback_data=OrgCB(action="mon", plan=plan_id, value="1"))
    builder.button(text=_("Every three months"), callback_data=OrgCB(action="mon", plan=plan_id, value="3"))
    builder.button(text=_("On set dates"), callback_data=OrgCB(action="mon", plan=plan_id, value="dates"))
    builder.button(text=_("No monitoring"), callback_data=OrgCB(action="mon", plan=plan_id, value="none"))
    builder.adjust(2)
    await message.answer(_("When should the monitoring group check it?"), reply_markup=builder.as_markup())


@router.callback_query(PlanEdit.schedule, OrgCB.filter(F.action == "mon"))
async def on_schedule(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                      roles: Roles, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    if await _plan(query, session, roles, callback_data.plan) is None:
        return
    if callback_data.value not in ("1", "3", "dates", "none"):
        await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.value == "dates":
        await state.set_state(PlanEdit.schedule_dates)
        await query.message.answer(_("The monitoring dates, e.g. <code>15.05.2026 15.06.2026</code>:"))
        return
    every = int(callback_data.value) if callback_data.value.isdigit() else None
    await create_activity(query.message, state, session, roles, i18n, settings, every_months=every, dates=[])


@router.message(PlanEdit.schedule_dates, F.text & ~F.text.startswith("/"))
async def on_schedule_dates(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                            i18n: I18n, settings: Settings) -> None:
    assert message.text is not None
    try:
        days = plans.parse_dates(message.text)
        if not days:
            raise PlanError("bad_date")
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    await create_activity(message, state, session, roles, i18n, settings, every_months=None, dates=days)


async def create_activity(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                          settings: Settings, *, every_months: int | None, dates: list[date]) -> None:
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    data = await state.get_data()
    await state.clear()
    try:
        activity = await plans.add_activity(session, plan, ActivityInput(
            title=data["title"], responsible_kind=data["responsible"], starts_on=date.fromisoformat(data["starts"]),
            due_on=date.fromisoformat(data["due"]), priority_id=data.get("priority"),
            responsible_person_id=data.get("person"), responsible_name=data.get("name", ""),
            expected_result=data.get("result", ""), indicators=data.get("indicators", ""),
            funding={s: int(n) for s, n in data.get("funding", {}).items()}, monitor_every_months=every_months,
            monitor_dates=dates), by=message.chat.id, zone=settings.zone)
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    await message.answer(_("The activity is added to the plan."))
    await show_activity(message, session, plan, activity, fmt_of(i18n, settings))


# --------------------------------------------------------------------------- an activity: status and money


@router.callback_query(OrgCB.filter(F.action == "act"))
async def on_activity(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                      i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    found = await _activity(query, session, roles, callback_data.item)
    if found is None:
        return
    await query.answer()
    await show_activity(query.message, session, *found, fmt_of(i18n, settings))


@router.callback_query(OrgCB.filter(F.action == "st"))
async def on_set_status(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                        person: Person | None, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    found = await _activity(query, session, roles, callback_data.item)
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
        await show_activity(query.message, session, plan, activity, fmt_of(i18n, settings), edit=True)


@router.callback_query(OrgCB.filter(F.action == "spent"))
async def on_spent(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles) -> None:
    assert isinstance(query.message, Message)
    found = await _activity(query, session, roles, callback_data.item)
    if found is None:
        return
    plan, activity = found
    await query.answer()
    builder = InlineKeyboardBuilder()
    sources = [r.source for r in (await plans.funding_of(session, [activity.id])).get(activity.id, [])]
    for source in sources or plans.SOURCES:
        builder.button(text=plan_report.source_label(source, _),
                       callback_data=OrgCB(action="spsrc", plan=plan.id, item=activity.id, value=source))
    builder.adjust(2)
    await query.message.answer(_("Money spent so far on “{activity}”: from which source?").format(
        activity=escape(activity.title)), reply_markup=builder.as_markup())


@router.callback_query(OrgCB.filter(F.action == "spsrc"))
async def on_spent_source(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                          roles: Roles) -> None:
    assert isinstance(query.message, Message)
    found = await _activity(query, session, roles, callback_data.item)
    if found is None or callback_data.value not in plans.SOURCES:
        if found is not None:
            await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(PlanEdit.spent)
    await state.set_data({"plan": found[0].id, "activity": found[1].id, "source": callback_data.value})
    await query.message.answer(_("Spent so far from {source}, in som (the total, not an addition):").format(
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


# --------------------------------------------------------------------------- groups


def composition_text(made: plans.Composition, villages: dict[int, Village], language: str, fmt: Formatter) -> str:
    share = made.women_share
    lines = [_("{members} members: women {women}, men {men}, not given {unknown} (women {share}).").format(
        members=fmt.number(made.members), women=fmt.number(made.women), men=fmt.number(made.men),
        unknown=fmt.number(made.sex_not_given), share=fmt.percent(share) if share is not None else "—")]
    if made.by_band:
        lines.append(_("Age groups: {bands}").format(bands=", ".join(
            f"{(band or _('not given')).replace('-', '–')}: {fmt.number(n)}"
            for band, n in sorted(made.by_band.items(), key=lambda item: item[0] or "~"))))
    if made.by_village:
        lines.append(_("Villages: {villages}").format(villages=", ".join(
            f"{place_name(villages[v], language) if v in villages else '—'}: {fmt.number(n)}"
            for v, n in made.by_village.items())))
    if made.members:
        minority = made.minority_share or 0.0
        if made.balanced:
            lines.append(_("✓ The smaller sex makes up {share}: the method's advice of at least 30 % is met.").format(
                share=fmt.percent(minority)))
        else:
            lines.append(_("⚠️ The method advises that the smaller sex makes up at least 30 % of the group; now "
                           "{share}. Consider adding more {sex}.").format(
                share=fmt.percent(minority), sex=_("women") if made.minority_sex == "f" else _("men")))
    return "\n".join(lines)


async def group_text(session: AsyncSession, grp: PlanGroup, plan: Plan, language: str, fmt: Formatter) -> str:
    members = await plans.members_of(session, grp.id)
    villages = {v.id: v for v in await plans.villages_of(session, plan.aiyl_aimak_id)}
    title = _("Monitoring group") if grp.kind == "monitoring" else _("Initiative group “{name}”").format(
        name=escape(grp.name))
    lines = [f"<b>{title}</b>", composition_text(plans.composition(members), villages, language, fmt)]
    if grp.kind == "monitoring":
        mandate = escape(grp.mandate_ref) if grp.mandate_ref else _("not recorded yet")
        lines.append(_("Mandate (order of the head of the aiyl okmotu): {mandate}").format(mandate=mandate))
    if members:
        lines.append(", ".join(escape(m.first_name or f"#{m.id}") for m in members))
    return "\n".join(lines)


@router.callback_query(OrgCB.filter(F.action == "groups"))
async def on_groups(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer()
    monitoring = await plans.group(session, plan, "monitoring")
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Monitoring group"), callback_data=OrgCB(action="grp", plan=plan.id, item=monitoring.id))
    for grp in await plans.groups_of(session, plan.id):
        if grp.kind == "initiative":
            builder.button(text=_("Initiative group “{name}”").format(name=grp.name[:30]),
                           callback_data=OrgCB(action="grp", plan=plan.id, item=grp.id))
    builder.button(text=_("➕ Initiative group"), callback_data=OrgCB(action="newgrp", plan=plan.id))
    builder.adjust(1)
    await query.message.answer(_("Groups of the plan:"), reply_markup=builder.as_markup())


async def _group(query: CallbackQuery, session: AsyncSession, roles: Roles,
                 callback_data: OrgCB) -> tuple[Plan, PlanGroup] | None:
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return None
    grp = await session.get(PlanGroup, callback_data.item)
    if grp is None or grp.plan_id != plan.id:
        await refuse(query)
        return None
    return plan, grp


def group_keyboard(plan: Plan, grp: PlanGroup) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if grp.kind == "monitoring":
        builder.button(text=_("📜 Mandate"), callback_data=OrgCB(action="mandate", plan=plan.id, item=grp.id))
    builder.button(text=_("◀️ The plan"), callback_data=OrgCB(action="open", plan=plan.id))
    return builder.as_markup()


@router.callback_query(OrgCB.filter(F.action == "grp"))
async def on_group(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                   roles: Roles, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    found = await _group(query, session, roles, callback_data)
    if found is None:
        return
    plan, grp = found
    await query.answer()
    await state.set_state(PlanEdit.members)
    await state.set_data({"plan": plan.id, "group": grp.id})
    text = await group_text(session, grp, plan, i18n.current_locale, fmt_of(i18n, settings))
    await query.message.answer(text + "\n\n" + _(
        "To add members, send registered villagers' phone numbers or Telegram ids, one per line. To take "
        "somebody out, write a minus before it: <code>-996700001234</code>."), reply_markup=group_keyboard(plan, grp))


@router.callback_query(OrgCB.filter(F.action == "newgrp"))
async def on_new_group(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                       roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer()
    await state.set_state(PlanEdit.group_name)
    await state.set_data({"plan": plan.id})
    await query.message.answer(_("The initiative group's name, e.g. “Drinking water”:"))


@router.message(PlanEdit.group_name, F.text & ~F.text.startswith("/"))
async def on_group_name(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                        settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    grp = await plans.group(session, plan, "initiative", message.text)
    await state.set_state(PlanEdit.members)
    await state.update_data(group=grp.id)
    text = await group_text(session, grp, plan, i18n.current_locale, fmt_of(i18n, settings))
    await message.answer(text + "\n\n" + _("Send registered villagers' phone numbers or Telegram ids, one per line."),
                         reply_markup=group_keyboard(plan, grp))


@router.message(PlanEdit.members, F.text & ~F.text.startswith("/"))
async def on_members(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                     settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    grp = await session.get(PlanGroup, int((await state.get_data()).get("group", 0)))
    if grp is None or grp.plan_id != plan.id:
        await state.clear()
        await message.answer(error_text("not_found"))
        return
    report: list[str] = []
    for line in [w.strip() for w in message.text.replace(",", "\n").splitlines() if w.strip()][:50]:
        removing = line.startswith("-")
        word = line.lstrip("-").strip()
        try:
            person = await plans.villager_of(session, plan, telegram_id=await resolve_person(session, settings, word))
        except UsageError:
            report.append(f"{escape(word)}: {error_text('not_registered')}" if word.lstrip("+").isdigit()
                          else _("{word}: not a phone number or Telegram id").format(word=escape(word)))
            continue
        except PlanError as exc:
            report.append(f"{escape(word)}: {error_text(exc.code)}")
            continue
        name = escape(person.first_name or word)
        if removing:
            done = await plans.remove_member(session, grp, person.id, by=message.chat.id)
            report.append(_("{name}: taken out").format(name=name) if done else _("{name}: was not a member").format(
                name=name))
        else:
            added = await plans.add_member(session, grp, person, by=message.chat.id)
            report.append(_("{name}: added").format(name=name) if added else _("{name}: already a member").format(
                name=name))
    text = await group_text(session, grp, plan, i18n.current_locale, fmt_of(i18n, settings))
    await message.answer("\n".join(report) + "\n\n" + text, reply_markup=group_keyboard(plan, grp))


@router.callback_query(OrgCB.filter(F.action == "mandate"))
async def on_mandate(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                     roles: Roles) -> None:
    assert isinstance(query.message, Message)
    found = await _group(query, session, roles, callback_data)
    if found is None:
        return
    await query.answer()
    await state.set_state(PlanEdit.mandate)
    await state.set_data({"plan": found[0].id, "group": found[1].id})
    await query.message.answer(_("The order of the head of the aiyl okmotu that names the group, e.g. "
                                 "<code>Order No. 15 of 02.04.2026</code>:"))


@router.message(PlanEdit.mandate, F.text & ~F.text.startswith("/"))
async def on_mandate_text(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                          settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    grp = await session.get(PlanGroup, int((await state.get_data()).get("group", 0)))
    if grp is None or grp.plan_id != plan.id:
        await state.clear()
        await message.answer(error_text("not_found"))
        return
    try:
        days = plans.parse_dates(message.text)
        plans.set_mandate(grp, message.text, days[0] if days else None)
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    await state.clear()
    await message.answer(_("The mandate is recorded.") + "\n\n" + await group_text(
        session, grp, plan, i18n.current_locale, fmt_of(i18n, settings)), reply_markup=group_keyboard(plan, grp))


# --------------------------------------------------------------------------- approval, surveys, report


@router.callback_query(OrgCB.filter(F.action == "approve"))
async def on_approve(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                     roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer()
    await state.set_state(PlanEdit.approval)
    await state.set_data({"plan": plan.id})
    await query.message.answer(_("When did the local council approve the plan, and by which decision? e.g. "
                                 "<code>15.05.2026 decision No. 12</code>"))


@router.message(PlanEdit.approval, F.text & ~F.text.startswith("/"))
async def on_approval(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                      settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    try:
        days = plans.parse_dates(message.text)
        if not days:
            raise PlanError("bad_date")
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    decision = plans.DATE_RE.sub("", message.text, count=1).strip()
    await plans.approve(session, plan, days[0], decision, by=message.chat.id, zone=settings.zone)
    await state.clear()
    fmt = fmt_of(i18n, settings)
    await message.answer(_("Recorded: approved by the local council on {day}. The yearly monitoring report will "
                           "come on each anniversary.").format(day=fmt.date(days[0])))


@router.callback_query(OrgCB.filter(F.action == "survey"))
async def on_survey(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer()
    builder = InlineKeyboardBuilder()
    for service in plans.SERVICES:
        builder.button(text=plan_report.service_label(service, _),
                       callback_data=OrgCB(action="svc", plan=plan.id, value=service))
    builder.adjust(2)
    await query.message.answer(_("Villagers will be asked how satisfied they are (1–5). About which service?"),
                               reply_markup=builder.as_markup())


@router.callback_query(OrgCB.filter(F.action == "svc"))
async def on_service(query: CallbackQuery, callback_data: OrgCB, state: FSMContext, session: AsyncSession,
                     roles: Roles) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    if callback_data.value not in plans.SERVICES:
        await refuse(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(PlanEdit.survey)
    await state.set_data({"plan": plan.id, "service": callback_data.value})
    await query.message.answer(_("When to ask: the first date, then how often in months and how many times, e.g. "
                                 "<code>01.12.2026 6 4</code> (every 6 months, 4 times). Only a date asks once."))


@router.message(PlanEdit.survey, F.text & ~F.text.startswith("/"))
async def on_survey_schedule(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                             i18n: I18n, settings: Settings) -> None:
    assert message.text is not None
    plan = await _state_plan(message, state, session, roles)
    if plan is None:
        return
    data = await state.get_data()
    try:
        days = plans.parse_dates(message.text)
        if len(days) != 1:
            raise PlanError("bad_date")
        numbers = [int(w) for w in plans.DATE_RE.sub(" ", message.text).split() if w.isdigit()]
        every = numbers[0] if numbers else None
        times = numbers[1] if len(numbers) > 1 else (2 if every else 1)
        survey = await plans.create_survey(session, plan, data["service"], plans.at_local(days[0], settings.zone),
                                           every_months=every, times=times, by=message.chat.id)
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return
    await state.clear()
    fmt = fmt_of(i18n, settings)
    await message.answer(_("The survey about {service} is planned: first on {day}, {times} times in all.").format(
        service=plan_report.service_label(survey.service, _), day=fmt.date(days[0]), times=fmt.number(survey.times)))


@router.callback_query(OrgCB.filter(F.action == "report"))
async def on_report(query: CallbackQuery, callback_data: OrgCB, session: AsyncSession, roles: Roles, i18n: I18n,
                    settings: Settings) -> None:
    assert isinstance(query.message, Message)
    plan = await _plan(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer(_("Preparing the report…"))
    language = i18n.current_locale
    report = await plan_report.gather(session, plan, zone=settings.zone)
    files = plan_report.render(report, gettext=_, language=language, zone=settings.zone)
    stem = plan_report.file_stem(report)
    summary = "\n".join(plan_report.summary_lines(report, gettext=_, language=language))
    await query.message.answer_photo(BufferedInputFile(files.chart, f"{stem}.png"),
                                     caption=_("📊 Monitoring report: {plan}").format(plan=escape(plan.title)))
    await query.message.answer_document(BufferedInputFile(files.xlsx, f"{stem}.xlsx"))
    await query.message.answer_document(BufferedInputFile(files.docx, f"{stem}.docx"),
                                        caption=_("The document can be read out at a gathering or hearing."))
    await query.message.answer(escape(summary))
