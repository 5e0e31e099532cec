"""Organisers form the initiative and monitoring groups (composition, mandate) and record the council's approval."""

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
from handlers.plan.common import button_step, group_of, plan_of, state_group, state_plan, typed_dates
from handlers.plan.states import PlanEdit
from handlers.plan.views import error_text, fmt_of, group_keyboard, group_text
from services import plan as plans
from services.plan import PlanError
from services.roles import Role, Roles

router = Routes("plan_groups")
router.message.filter(HasRole(Role.ORGANISER))
router.callback_query.filter(HasRole(Role.ORGANISER))


@router.callback_query(OrgCB.filter(F.action == "groups"))
async def on_groups(query: CallbackQuery, message: Message, callback_data: OrgCB, session: AsyncSession,
                    roles: Roles) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan))
    if plan is None:
        return
    monitoring = await plans.group(session, plan, "monitoring")
    groups = await plans.groups_of(session, plan.id)
    await message.answer(_("Groups of the plan:"), reply_markup=setup_views.groups_keyboard(plan, monitoring, groups))


@router.callback_query(OrgCB.filter(F.action == "grp"))
async def on_group(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                   session: AsyncSession, roles: Roles, i18n: I18n, settings: Settings) -> None:
    found = await button_step(query, message, group_of(query, session, roles, callback_data))
    if found is None:
        return
    plan, grp = found
    await state.set_state(PlanEdit.members)
    await state.set_data({"plan": plan.id, "group": grp.id})
    text = await group_text(session, grp, plan, i18n.current_locale, fmt_of(i18n, settings))
    await message.answer(text + "\n\n" + _(
        "To add members, send registered villagers' phone numbers or Telegram ids, one per line. To take "
        "somebody out, write a minus before it: <code>-996700001234</code>."), reply_markup=group_keyboard(plan, grp))


@router.callback_query(OrgCB.filter(F.action == "newgrp"))
async def on_new_group(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                       session: AsyncSession, roles: Roles) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan))
    if plan is None:
        return
    await state.set_state(PlanEdit.group_name)
    await state.set_data({"plan": plan.id})
    await message.answer(_("The initiative group's name, e.g. “Drinking water”:"))


@router.message(PlanEdit.group_name, F.text & ~F.text.startswith("/"))
async def on_group_name(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                        settings: Settings) -> None:
    assert message.text is not None
    plan = await state_plan(message, state, session, roles)
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
    found = await state_group(message, state, session, roles)
    if found is None:
        return
    plan, grp = found
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
async def on_mandate(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                     session: AsyncSession, roles: Roles) -> None:
    found = await button_step(query, message, group_of(query, session, roles, callback_data))
    if found is None:
        return
    await state.set_state(PlanEdit.mandate)
    await state.set_data({"plan": found[0].id, "group": found[1].id})
    await message.answer(_("The order of the head of the aiyl okmotu that names the group, e.g. "
                           "<code>Order No. 15 of 02.04.2026</code>:"))


@router.message(PlanEdit.mandate, F.text & ~F.text.startswith("/"))
async def on_mandate_text(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                          settings: Settings) -> None:
    assert message.text is not None
    found = await state_group(message, state, session, roles)
    if found is None:
        return
    plan, grp = found
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
async def on_approve(query: CallbackQuery, message: Message, callback_data: OrgCB, state: FSMContext,
                     session: AsyncSession, roles: Roles) -> None:
    plan = await button_step(query, message, plan_of(query, session, roles, callback_data.plan))
    if plan is None:
        return
    await state.set_state(PlanEdit.approval)
    await state.set_data({"plan": plan.id})
    await message.answer(_("When did the local council approve the plan, and by which decision? e.g. "
                           "<code>15.05.2026 decision No. 12</code>"))


@router.message(PlanEdit.approval, F.text & ~F.text.startswith("/"))
async def on_approval(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                      settings: Settings) -> None:
    assert message.text is not None
    plan = await state_plan(message, state, session, roles)
    if plan is None:
        return
    days = await typed_dates(message)
    if days is None:
        return
    decision = plans.DATE_RE.sub("", message.text, count=1).strip()
    await plans.approve(session, plan, days[0], decision, by=message.chat.id, zone=settings.zone)
    await state.clear()
    fmt = fmt_of(i18n, settings)
    await message.answer(_("Recorded: approved by the local council on {day}. The yearly monitoring report will "
                           "come on each anniversary.").format(day=fmt.date(days[0])))
