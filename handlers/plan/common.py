"""What the organiser's plan routers share: lookups that refuse, the card and activity screens, wizard steps."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.settings import Settings
from handlers.plan import setup_views
from handlers.plan.buttons import OrgCB
from handlers.plan.states import PlanEdit
from handlers.plan.views import (
    activity_keyboard,
    activity_text,
    error_text,
    fmt_of,
    plan_keyboard,
    plan_text,
    survey_lines,
)
from services import plan as plans
from services import plan_report
from services.plan import ActivityInput, PlanError
from services.roles import Roles
from storage.plan import Plan, PlanActivity, PlanGroup

log = logging.getLogger(__name__)
T = TypeVar("T")


async def button_step(query: CallbackQuery, message: Message, lookup: Awaitable[T | None], *, valid: bool = True,
                      close: bool = False) -> T | None:
    """The prologue of an organiser's plan button: the object re-checked (``lookup``, e.g. ``plan_of(...)``,
    refuses when it is not the organiser's), the button's value checked (``valid``; refused when False), the
    button answered, and with ``close`` its keyboard removed (a wizard step is answered once). None: refused."""
    found = await lookup
    if found is None:
        return None
    if not valid:
        await refuse(query)
        return None
    await query.answer()
    if close:
        await message.edit_reply_markup(reply_markup=None)
    return found


async def refuse(query: CallbackQuery, code: str = "not_found") -> None:
    log.warning("refused plan button %r from %s (%s)", query.data, query.from_user.id, code)
    await query.answer(error_text(code), show_alert=True)


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


async def show_activity(message: Message, session: AsyncSession, plan: Plan, activity: PlanActivity, fmt: Formatter, *,
                        edit: bool = False) -> None:
    text = await activity_text(session, activity, fmt)
    markup = activity_keyboard(plan, activity)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def plan_of(query: CallbackQuery, session: AsyncSession, roles: Roles, plan_id: int) -> Plan | None:
    try:
        return await plans.plan_for_organiser(session, roles, plan_id)
    except PlanError as exc:
        await refuse(query, exc.code)
        return None


async def activity_of(query: CallbackQuery, session: AsyncSession, roles: Roles,
                    activity_id: int) -> tuple[Plan, PlanActivity] | None:
    try:
        return await plans.activity_for_organiser(session, roles, activity_id)
    except PlanError as exc:
        await refuse(query, exc.code)
        return None


async def state_plan(message: Message, state: FSMContext, session: AsyncSession, roles: Roles) -> Plan | None:
    """The plan a step is about, checked again (the role may have been taken away meanwhile)."""
    try:
        return await plans.plan_for_organiser(session, roles, int((await state.get_data()).get("plan", 0)))
    except PlanError as exc:
        await state.clear()
        await message.answer(error_text(exc.code))
        return None


async def typed_dates(message: Message, count: int | None = None) -> list[date] | None:
    """The dates in the message (``count``: exactly that many, else at least one); None after saying what is
    wrong with them (none readable, or a day that does not exist)."""
    assert message.text is not None
    try:
        days = plans.parse_dates(message.text)
        if not days if count is None else len(days) != count:
            raise PlanError("bad_date")
    except PlanError as exc:
        await message.answer(error_text(exc.code))
        return None
    return days


async def ask_dates(message: Message, state: FSMContext) -> None:
    await state.set_state(PlanEdit.dates)
    await message.answer(_("Start and due dates, e.g. <code>01.04.2026 31.12.2026</code>:"))


async def ask_funding(message: Message, state: FSMContext, fmt: Formatter | None = None) -> None:
    await state.set_state(PlanEdit.funding)
    data = await state.get_data()
    funding: dict[str, int] = data.get("funding", {})
    lines = [_("Cost estimate and funding sources: choose a source, then write its amount in som. Several "
               "sources are fine. Press Done when all are in.")]
    if funding and fmt is not None:
        lines += [f"• {plan_report.source_label(s, _)}: {fmt.number(n)}" for s, n in funding.items()]
        lines.append(_("Total: {amount} som").format(amount=fmt.number(sum(funding.values()))))
    await message.answer("\n".join(lines), reply_markup=setup_views.funding_keyboard(int(data["plan"])))


async def create_activity(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                          settings: Settings, *, every_months: int | None, dates: list[date]) -> None:
    plan = await state_plan(message, state, session, roles)
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


async def group_of(query: CallbackQuery, session: AsyncSession, roles: Roles,
                 callback_data: OrgCB) -> tuple[Plan, PlanGroup] | None:
    plan = await plan_of(query, session, roles, callback_data.plan)
    if plan is None:
        return None
    grp = await session.get(PlanGroup, callback_data.item)
    if grp is None or grp.plan_id != plan.id:
        await refuse(query)
        return None
    return plan, grp


async def state_group(message: Message, state: FSMContext, session: AsyncSession,
                      roles: Roles) -> tuple[Plan, PlanGroup] | None:
    """The plan and group of a group step in progress (``state_plan`` and the group in the state's data); when
    either is gone the step ends with a refusal."""
    plan = await state_plan(message, state, session, roles)
    if plan is None:
        return None
    grp = await session.get(PlanGroup, int((await state.get_data()).get("group", 0)))
    if grp is None or grp.plan_id != plan.id:
        await state.clear()
        await message.answer(error_text("not_found"))
        return None
    return plan, grp
