"""The organiser's choices while setting a plan up: rounds, services, priorities, responsible, monitoring, money."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.keyboards import InlineKeyboardBuilder
from bot.text import escape
from handlers.plan.buttons import OrgCB
from services import plan as plans
from services import plan_report
from storage.plan import Plan, PlanActivity, PlanGroup


def plans_keyboard(mine: list[Plan], rounds: list[Any]) -> InlineKeyboardMarkup:
    """The organiser's plans, and a new plan from each closed voting round that has none."""
    builder = InlineKeyboardBuilder()
    for plan in mine:
        builder.button(text=f"📋 {plan.title[:50]}", callback_data=OrgCB(action="open", plan=plan.id))
    for rnd in rounds:
        builder.button(text=_("➕ New plan from “{round}”").format(round=rnd.title[:40]),
                       callback_data=OrgCB(action="round", item=rnd.id))
    builder.adjust(1)
    return builder.as_markup()


def plan_source_text(round_title: str, overall: int, own: int) -> str:
    """Which priorities a plan from a round of several villages takes, with how many problems each choice gives."""
    return "\n".join([
        _("Which priorities of “{round}” go into the joint action plan?").format(round=escape(round_title)),
        ngettext("The aiyl aimak's top 5: {count} problem, ranked by the votes of all villages together.",
                 "The aiyl aimak's top 5: {count} problems, ranked by the votes of all villages together.",
                 overall).format(count=overall),
        ngettext("Each village's own top 5: {count} problem, so a small village's first priority stays in "
                 "the plan.",
                 "Each village's own top 5: {count} problems, so a small village's first priority stays in "
                 "the plan.", own).format(count=own)])


def plan_source_keyboard(round_id: int, overall: int, own: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_("The aiyl aimak's top 5 ({count})").format(count=overall),
                              callback_data=OrgCB(action="mkplan", item=round_id, value="aimak").pack())],
        [InlineKeyboardButton(text=_("Each village's own top 5 ({count})").format(count=own),
                              callback_data=OrgCB(action="mkplan", item=round_id, value="village").pack())]])


def services_keyboard(plan_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for service in plans.SERVICES:
        builder.button(text=plan_report.service_label(service, _),
                       callback_data=OrgCB(action="svc", plan=plan_id, value=service))
    builder.adjust(2)
    return builder.as_markup()


def priorities_keyboard(plan_id: int, priorities: list[Any], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for priority in priorities:
        builder.button(text=f"{priority.position}. {plans.priority_title(priority, language)[:50]}",
                       callback_data=OrgCB(action="prio", plan=plan_id, item=priority.id))
    builder.button(text=_("Another activity"), callback_data=OrgCB(action="prio", plan=plan_id, item=0))
    builder.adjust(1)
    return builder.as_markup()


def responsible_keyboard(plan_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in plans.RESPONSIBLE_KINDS:
        builder.button(text=plan_report.responsible_label(kind, _),
                       callback_data=OrgCB(action="resp", plan=plan_id, value=kind))
    builder.adjust(2)
    return builder.as_markup()


def monitoring_keyboard(plan_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Every month"), callback_data=OrgCB(action="mon", plan=plan_id, value="1"))
    builder.button(text=_("Every three months"), callback_data=OrgCB(action="mon", plan=plan_id, value="3"))
    builder.button(text=_("On set dates"), callback_data=OrgCB(action="mon", plan=plan_id, value="dates"))
    builder.button(text=_("No monitoring"), callback_data=OrgCB(action="mon", plan=plan_id, value="none"))
    builder.adjust(2)
    return builder.as_markup()


def spent_sources_keyboard(plan: Plan, activity: PlanActivity, sources: list[str]) -> InlineKeyboardMarkup:
    """The activity's funding sources (every source when it has none yet)."""
    builder = InlineKeyboardBuilder()
    for source in sources or plans.SOURCES:
        builder.button(text=plan_report.source_label(source, _),
                       callback_data=OrgCB(action="spsrc", plan=plan.id, item=activity.id, value=source))
    builder.adjust(2)
    return builder.as_markup()


def groups_keyboard(plan: Plan, monitoring: PlanGroup, groups: list[PlanGroup]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Monitoring group"), callback_data=OrgCB(action="grp", plan=plan.id, item=monitoring.id))
    for grp in groups:
        if grp.kind == "initiative":
            builder.button(text=_("Initiative group “{name}”").format(name=grp.name[:30]),
                           callback_data=OrgCB(action="grp", plan=plan.id, item=grp.id))
    builder.button(text=_("➕ Initiative group"), callback_data=OrgCB(action="newgrp", plan=plan.id))
    builder.adjust(1)
    return builder.as_markup()


def funding_keyboard(plan_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for source in plans.SOURCES:
        builder.button(text=plan_report.source_label(source, _),
                       callback_data=OrgCB(action="src", plan=plan_id, value=source))
    builder.button(text=_("✔️ Done"), callback_data=OrgCB(action="srcdone", plan=plan_id))
    builder.adjust(2)
    return builder.as_markup()
