"""Joint action plan tasks (durable, see ``jobs.tasks``): monitoring prompts at each date, one reminder to members
who did not answer and then a notice to the organisers, overdue-activity notices, status changes told to
followers, satisfaction surveys and the yearly monitoring report.

Every message goes through the outbox with a dedupe key naming what it is and to whom, rendered in the
reader's language when it is queued: a task that runs twice (or in two processes) sends nothing twice."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import Formatter, in_language
from handlers.plan import views
from jobs.tasks import task_handler
from services import outbox, plan_report
from services import plan as plans
from services.outbox import Attachment
from services.people import person_by_telegram_id
from storage.models import Person
from storage.plan import MonitoringOccasion, Plan, PlanActivity, SatisfactionSurvey

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)



def language_of(app: App, person: Person | None) -> str:
    return (person.language if person is not None else None) or app.settings.default_language


async def organisers(session: AsyncSession, app: App, aiyl_aimak_id: int) -> list[tuple[int, Person | None]]:
    """(Telegram id, person if known) of each organiser of the aiyl aimak."""
    return [(telegram_id, await person_by_telegram_id(session, telegram_id))
            for telegram_id in await plans.organiser_ids(session, aiyl_aimak_id)]




async def _load(session: AsyncSession, activity_id: int) -> tuple[Plan, PlanActivity] | None:
    activity = await plans.get_activity(session, activity_id)
    if activity is None:
        return None
    plan = await plans.get_plan(session, activity.plan_id)
    assert plan is not None
    return plan, activity


async def _enqueue_prompt(app: App, session: AsyncSession, plan: Plan, activity: PlanActivity,
                          occasion: MonitoringOccasion, member: Person, *, reminder: bool) -> bool:
    if member.telegram_id is None:
        return False
    language = language_of(app, member)
    with in_language(app.i18n, language):
        text = views.prompt_text(plan, activity, Formatter(language, app.settings.zone), reminder=reminder)
        markup = views.status_keyboard(occasion.id)
    kind = "remind" if reminder else "prompt"
    return await delivery.notify(session, member.telegram_id, text, person_id=member.id, buttons=markup,
                                 dedupe_key=f"plan:{kind}:{occasion.id}:{member.id}")


@task_handler(plans.MONITOR_TASK)
async def monitoring_prompt(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """A monitoring date: every member of the plan's monitoring group is asked about the activity."""
    async with app.db.session() as session:
        loaded = await _load(session, int(payload["activity_id"]))
        if loaded is None:
            return
        plan, activity = loaded
        if activity.status in plans.CLOSED_STATUSES:
            return
        occasion = await plans.open_occasion(session, activity.id, run_at)
        group = await plans.monitoring_group(session, plan.id)
        members = [m for m in await plans.members_of(session, group.id) if m.is_registered] if group else []
        if not members:
            for chat_id, person in await organisers(session, app, plan.aiyl_aimak_id):
                language = language_of(app, person)
                with in_language(app.i18n, language):
                    text = views.no_group_text(plan, activity)
                await delivery.notify(session, chat_id, text, dedupe_key=f"plan:nogroup:{occasion.id}:{chat_id}")
            return
        for member in members:
            await _enqueue_prompt(app, session, plan, activity, occasion, member, reminder=False)
        await plans.schedule_follow_ups(session, plan, occasion)
        log.info("plan %s: monitoring of activity %s asked of %s members", plan.id, activity.id, len(members))


async def _occasion(session: AsyncSession, payload: dict[str, Any]) -> tuple[Plan, PlanActivity,
                                                                             MonitoringOccasion] | None:
    """The monitoring occasion of a follow-up task; None when it is gone or its activity was cancelled."""
    occasion = await plans.get_occasion(session, int(payload["occasion_id"]))
    if occasion is None:
        return None
    loaded = await _load(session, occasion.activity_id)
    if loaded is None or loaded[1].status == "cancelled":
        return None
    return loaded[0], loaded[1], occasion


@task_handler(plans.REMIND_TASK)
async def monitoring_reminder(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """Once, to each member who has not answered."""
    async with app.db.session() as session:
        found = await _occasion(session, payload)
        if found is None:
            return
        plan, activity, occasion = found
        for member in await plans.members_without_answer(session, occasion):
            await _enqueue_prompt(app, session, plan, activity, occasion, member, reminder=True)


@task_handler(plans.ESCALATE_TASK)
async def monitoring_escalation(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """After the reminder: the organisers are told who still has not answered."""
    async with app.db.session() as session:
        found = await _occasion(session, payload)
        if found is None:
            return
        plan, activity, occasion = found
        silent = await plans.members_without_answer(session, occasion)
        if not silent:
            return
        for chat_id, person in await organisers(session, app, plan.aiyl_aimak_id):
            language = language_of(app, person)
            with in_language(app.i18n, language):
                fmt = Formatter(language, app.settings.zone)
                text = views.silent_members_text(plan, activity, occasion, silent, fmt)
            await delivery.notify(session, chat_id, text, dedupe_key=f"plan:escalate:{occasion.id}:{chat_id}")


@task_handler(plans.OVERDUE_TASK)
async def overdue_notice(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """The day after the due date: the responsible person and the organisers are told if it is not done."""
    async with app.db.session() as session:
        loaded = await _load(session, int(payload["activity_id"]))
        if loaded is None:
            return
        plan, activity = loaded
        due = activity.due_on.isoformat()
        if payload.get("due") != due or not plans.is_overdue(activity, plans.local_day(now, app.settings.zone)):
            return
        chats: list[tuple[int, Person | None, bool]] = []
        if activity.responsible_person_id is not None:
            person = await session.get(Person, activity.responsible_person_id)
            if person is not None and person.telegram_id is not None and person.is_registered:
                chats.append((person.telegram_id, person, True))
        for chat_id, person in await organisers(session, app, plan.aiyl_aimak_id):
            if all(chat_id != known for known, _p, _r in chats):
                chats.append((chat_id, person, False))
        for chat_id, person, responsible in chats:
            language = language_of(app, person)
            with in_language(app.i18n, language):
                fmt = Formatter(language, app.settings.zone)
                text = views.overdue_text(plan, activity, fmt, responsible=responsible)
            await delivery.notify(session, chat_id, text, person_id=person.id if person else None,
                                  dedupe_key=f"plan:overdue:{activity.id}:{due}:{chat_id}")


@task_handler(plans.STATUS_TASK)
async def status_notice(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """An activity changed status: its plan's followers are told (rendered once per language, queued set-based
    in committed chunks, so many followers hold neither memory nor the database)."""
    async with app.db.session() as session:
        change = await plans.status_change(session, int(payload["change_id"]))
        if change is None:
            return
        loaded = await _load(session, change.activity_id)
        if loaded is None:
            return
        plan, activity = loaded

    def render(language: str | None, _village: int | None) -> outbox.Notice:
        language = language or app.settings.default_language
        with in_language(app.i18n, language):
            return outbox.Notice(text=views.status_change_text(plan, activity, change,
                                                               Formatter(language, app.settings.zone)))

    await outbox.enqueue_to_people(app.db, broadcast_id=None, people=plans.follower_condition(plan.id),
                                   render=_once_per_language(render), dedupe_prefix=f"plan:status:{change.id}:")


@task_handler(plans.SURVEY_TASK)
async def satisfaction_survey(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """Ask every registered villager of the plan's aiyl aimak the survey question, with 1–5 buttons: rendered once
    per language, queued set-based in committed chunks (a task run again asks nobody twice)."""
    async with app.db.session() as session:
        survey = await session.get(SatisfactionSurvey, int(payload["survey_id"]))
        if survey is None or not survey.active:
            return
        plan = await plans.get_plan(session, survey.plan_id)
        assert plan is not None
        occasion = await plans.open_survey_occasion(session, survey, int(payload["number"]), run_at)

    def render(language: str | None, _village: int | None) -> outbox.Notice:
        with in_language(app.i18n, language or app.settings.default_language):
            return outbox.Notice(text=views.survey_question(survey),
                                 reply_markup=views.score_keyboard(occasion.id).model_dump(exclude_none=True))

    asked = await outbox.enqueue_to_people(app.db, broadcast_id=None, render=_once_per_language(render),
                                           people=plans.villager_condition(plan.aiyl_aimak_id),
                                           dedupe_prefix=f"plan:survey:{occasion.id}:")
    log.info("plan %s: survey %s (%s) asked of %s villagers", plan.id, survey.id, survey.service, asked)


def _once_per_language(render: outbox.Render) -> outbox.Render:
    """``enqueue_to_people`` asks once per language and village; these notices depend on the language only."""
    cache: dict[str | None, outbox.Notice | None] = {}

    def of(language: str | None, village: int | None) -> outbox.Notice | None:
        if language not in cache:
            cache[language] = render(language, village)
        return cache[language]

    return of


@task_handler(plans.YEARLY_TASK)
async def yearly_report(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """Each year after the approval: the monitoring report (chart, XLSX, DOCX) to the organisers."""
    zone = app.settings.zone
    year = int(payload.get("year", 1))
    async with app.db.session() as session:
        plan = await plans.get_plan(session, int(payload["plan_id"]))
        if plan is None:
            return
        ending: date = plans.local_day(run_at, zone)
        report = await plan_report.gather(session, plan, zone=zone, year_ending=ending, now=now)
        stem = plan_report.file_stem(report)
        for chat_id, person in await organisers(session, app, plan.aiyl_aimak_id):
            language = language_of(app, person)
            with in_language(app.i18n, language):
                files = plan_report.render(report, gettext=_, language=language, zone=zone, ngettext=ngettext)
                caption = views.yearly_caption(plan, year)
            key = f"plan:yearly:{plan.id}:{year}:{chat_id}"
            await delivery.notify(session, chat_id, caption, document=Attachment("photo", f"{stem}.png", files.chart),
                                  dedupe_key=f"{key}:chart")
            await delivery.notify(session, chat_id, "", document=Attachment("document", f"{stem}.xlsx", files.xlsx),
                                  dedupe_key=f"{key}:xlsx")
            await delivery.notify(session, chat_id, "", document=Attachment("document", f"{stem}.docx", files.docx),
                                  dedupe_key=f"{key}:docx")
        if year < 5:  # implementation runs up to three years; reports a little beyond
            await plans.schedule_yearly(session, plan, zone, year=year + 1)
