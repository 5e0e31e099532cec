"""The joint action plan's texts and keyboards: the plan card, activities, groups, monitoring prompts; used by
its routers and by the jobs that send notices."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.keyboards import InlineKeyboardBuilder
from bot.settings import Settings
from bot.text import escape
from handlers.plan.buttons import FollowCB, MonitorCB, OrgCB, ScoreCB
from services import plan as plans
from services import plan_report
from services.places import place_name
from storage.models import Person, Village, utcnow
from storage.plan import MonitoringOccasion, Plan, PlanActivity, PlanGroup, SatisfactionSurvey

MAX_CARD = 3600  # the plan card stays within one message (4096), room left for a line or two more



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




MAX_BUTTONS = 60  # activity buttons on the plan card (Telegram allows 100 buttons a message)


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
        lines.append(ngettext("⭐ {service}: {answers} answer, mean {mean} of 5 {villages}",
                              "⭐ {service}: {answers} answers, mean {mean} of 5 {villages}",
                              results.overall.answers).format(
            service=plan_report.service_label(survey.service, _), answers=fmt.number(results.overall.answers),
            mean=fmt.number(round(mean, 1)) if mean is not None else "—",
            villages=f"({'; '.join(parts)})" if parts else "").strip())
    return lines


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


# --------------------------------------------------------------------------- groups


def composition_text(made: plans.Composition, villages: dict[int, Village], language: str, fmt: Formatter) -> str:
    share = made.women_share
    lines = [ngettext("{members} member: women {women}, men {men}, not given {unknown} (women {share}).",
                      "{members} members: women {women}, men {men}, not given {unknown} (women {share}).",
                      made.members).format(
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


def group_keyboard(plan: Plan, grp: PlanGroup) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if grp.kind == "monitoring":
        builder.button(text=_("📜 Mandate"), callback_data=OrgCB(action="mandate", plan=plan.id, item=grp.id))
    builder.button(text=_("◀️ The plan"), callback_data=OrgCB(action="open", plan=plan.id))
    return builder.as_markup()

def prompt_text(plan: Plan, activity: PlanActivity, fmt: Formatter, *, reminder: bool = False) -> str:
    head = _("🔔 Reminder: the monitoring group has not heard from you yet.") + "\n\n" if reminder else ""
    progress = 100 if activity.status == "done" else activity.progress
    return head + _(
        "📋 <b>Monitoring</b> of the joint action plan “{plan}”\n"
        "Activity: <b>{activity}</b>\nDue: {due}\nStatus now: {status}, {progress} done\n\n"
        "How is it going? Choose the status you see:").format(
        plan=escape(plan.title), activity=escape(activity.title), due=fmt.date(activity.due_on),
        status=status_text(activity.status), progress=fmt.percent(progress / 100))


def survey_question(survey: SatisfactionSurvey) -> str:
    return _("⭐ A short question from your aiyl okmotu: how satisfied are you with the <b>{service}</b> in your "
             "village?\n1 = not at all, 5 = fully satisfied. Your answer is counted by village and group, never "
             "shown with your name.").format(service=plan_report.service_label(survey.service, _))


def no_group_text(plan: Plan, activity: PlanActivity) -> str:
    return _("Monitoring of “{activity}” is due today, but the monitoring group of the plan “{plan}” "
             "has no members yet, so nobody was asked. Add members with /plans.").format(
        activity=escape(activity.title), plan=escape(plan.title))


def silent_members_text(plan: Plan, activity: PlanActivity, occasion: MonitoringOccasion, silent: list[Person],
                        fmt: Formatter) -> str:
    names = ", ".join(escape(m.first_name or f"#{m.id}") for m in silent)
    return ngettext(
        "Monitoring of “{activity}” ({plan}) asked on {day}: {count} member of the monitoring group has "
        "not answered, even after a reminder: {names}.",
        "Monitoring of “{activity}” ({plan}) asked on {day}: {count} members of the monitoring group "
        "have not answered, even after a reminder: {names}.", len(silent)).format(
        activity=escape(activity.title), plan=escape(plan.title), day=fmt.date(occasion.due_at),
        count=fmt.number(len(silent)), names=names)


def overdue_text(plan: Plan, activity: PlanActivity, fmt: Formatter, *, responsible: bool) -> str:
    text = _("⏰ Overdue: “{activity}” of the joint action plan “{plan}” was due on {due} and is not done "
             "(status: {status}, {progress} done).").format(
        activity=escape(activity.title), plan=escape(plan.title), due=fmt.date(activity.due_on),
        status=status_text(activity.status), progress=fmt.percent(activity.progress / 100))
    if responsible:
        text += "\n" + _("You are named as responsible for it. Please tell the aiyl okmotu how it "
                         "stands.")
    return text


def status_change_text(plan: Plan, activity: PlanActivity, change: Any, fmt: Formatter) -> str:
    """``change``: a status change of the activity (``plans.status_change``)."""
    text = _("📢 Joint action plan “{plan}”: “{activity}” is now <b>{status}</b> (it was {old}), "
             "{progress} done.").format(
        plan=escape(plan.title), activity=escape(activity.title), status=status_text(change.new_status),
        old=status_text(change.old_status), progress=fmt.percent(change.progress / 100))
    return text + "\n" + _("/plan shows the whole plan.")


def yearly_caption(plan: Plan, year: int) -> str:
    return _("📊 Yearly monitoring report of the joint action plan “{plan}”, year {year}. The "
             "document can be read out at a gathering or hearing.").format(plan=escape(plan.title), year=year)
