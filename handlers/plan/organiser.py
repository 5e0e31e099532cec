"""Organisers: /plans lists the plans; new plan, the plan card, satisfaction surveys and the monitoring report.
Every button and step checks again that the plan belongs to one of the organiser's aiyl aimaks."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.plan import setup_views
from handlers.plan.buttons import OrgCB
from handlers.plan.common import button_step, plan_of, refuse, show_plan, state_plan, typed_dates
from handlers.plan.states import PlanEdit
from handlers.plan.views import error_text, fmt_of
from services import plan as plans
from services import plan_report, voting
from services.plan import PlanError
from services.roles import Role, Roles

router = Routes("plan_organiser")
router.message.filter(HasRole(Role.ORGANISER))
router.callback_query.filter(HasRole(Role.ORGANISER))


# --------------------------------------------------------------------------- /plans and making a plan


@router.message(Command("plans"))
async def on_plans(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    await state.clear()
    mine = await plans.plans_of(session, roles.organiser_of)
    rounds = await plans.closed_rounds_without_plan(session, roles.organiser_of)
    if not mine and not rounds:
        await message.answer(_("No joint action plan yet. A plan is made from the priorities of a closed voting "
                               "round; close a round first."))
        return
    await message.answer(_("Joint action plans of your aiyl aimaks:"),
                         reply_markup=setup_views.plans_keyboard(mine, rounds))


@router.callback_query(OrgCB.filter(F.action == "round"))
async def on_new_plan(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                      i18n: I18n, settings: Settings) -> None:
    """A plan from a round of several villages asks first which priorities it takes: the aiyl aimak's top five or
    each village's own (so a small village's first priority does not vanish under a big village's votes)."""
    rnd = await voting.get_round(session, callback_data.item)
    if rnd is None or not roles.may_organise(rnd.aiyl_aimak_id):
        await refuse(query)
        return
    if rnd.phase == "closed" and len(await voting.round_villages(session, rnd.id)) > 1:
        results = await voting.results(session, rnd)
        overall, own = ({p for p, _votes in plans.round_priorities(results, per_village=each)}
                        for each in (False, True))
        if overall != own:  # the same problems either way: nothing to choose
            await query.answer()
            await message.answer(setup_views.plan_source_text(rnd.title, len(overall), len(own)),
                                 reply_markup=setup_views.plan_source_keyboard(rnd.id, len(overall), len(own)))
            return
    await make_plan(query, message, session, roles, i18n, settings, rnd.id, per_village=False)


@router.callback_query(OrgCB.filter(F.action == "mkplan"))
async def on_plan_source(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession,
                         roles: Roles, i18n: I18n, settings: Settings) -> None:
    if callback_data.value not in ("aimak", "village"):
        await refuse(query)
        return
    await make_plan(query, message, session, roles, i18n, settings, callback_data.item,
                    per_village=callback_data.value == "village")


async def make_plan(query: CallbackQuery, message: Message, session: AsyncSession, roles: Roles, i18n: I18n,
                    settings: Settings, round_id: int, *, per_village: bool) -> None:
    try:
        plan = await plans.create_from_round(session, roles, round_id, by=query.from_user.id, per_village=per_village)
    except PlanError as exc:
        await refuse(query, exc.code)
        return
    await query.answer(_("The plan is made from the round's priorities."))
    await show_plan(message, session, plan, i18n, settings)


@router.callback_query(OrgCB.filter(F.action == "open"))
async def on_open(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                  session: AsyncSession, roles: Roles, i18n: I18n, settings: Settings) -> None:
    plan = await plan_of(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await state.clear()
    await query.answer()
    await show_plan(message, session, plan, i18n, settings)


@router.callback_query(OrgCB.filter(F.action == "survey"))
async def on_survey(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession,
                    roles: Roles) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan))
    if plan is None:
        return
    await message.answer(_("Villagers will be asked how satisfied they are (1–5). About which service?"),
                         reply_markup=setup_views.services_keyboard(plan.id))


@router.callback_query(OrgCB.filter(F.action == "svc"))
async def on_service(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                     session: AsyncSession, roles: Roles) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan),
                             valid=callback_data.value in plans.SERVICES, close=True)
    if plan is None:
        return
    await state.set_state(PlanEdit.survey)
    await state.set_data({"plan": plan.id, "service": callback_data.value})
    await message.answer(_("When to ask: the first date, then how often in months and how many times, e.g. "
                           "<code>01.12.2026 6 4</code> (every 6 months, 4 times). Only a date asks once."))


@router.message(PlanEdit.survey, F.text & ~F.text.startswith("/"))
async def on_survey_schedule(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                             settings: Settings) -> None:
    assert message.text is not None
    plan = await state_plan(message, state, session, roles)
    if plan is None:
        return
    data = await state.get_data()
    days = await typed_dates(message, 1)
    if days is None:
        return
    try:
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
    await message.answer(ngettext("The survey about {service} is planned: on {day}, {times} time in all.",
                                  "The survey about {service} is planned: first on {day}, {times} times in all.",
                                  survey.times).format(service=plan_report.service_label(survey.service, _),
                                                       day=fmt.date(days[0]), times=fmt.number(survey.times)))


@router.callback_query(OrgCB.filter(F.action == "report"))
async def on_report(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession, roles: Roles,
                    i18n: I18n, settings: Settings) -> None:
    plan = await plan_of(query, session, roles, callback_data.plan)
    if plan is None:
        return
    await query.answer(_("Preparing the report…"))
    language = i18n.current_locale
    report = await plan_report.gather(session, plan, zone=settings.zone)
    files = plan_report.render(report, gettext=_, language=language, zone=settings.zone, ngettext=ngettext)
    stem = plan_report.file_stem(report)
    summary = "\n".join(plan_report.summary_lines(report, gettext=_, language=language, ngettext=ngettext))
    await message.answer_photo(BufferedInputFile(files.chart, f"{stem}.png"),
                               caption=_("📊 Monitoring report: {plan}").format(plan=escape(plan.title)))
    await message.answer_document(BufferedInputFile(files.xlsx, f"{stem}.xlsx"))
    await message.answer_document(BufferedInputFile(files.docx, f"{stem}.docx"),
                                  caption=_("The document can be read out at a gathering or hearing."))
    await message.answer(escape(summary))
