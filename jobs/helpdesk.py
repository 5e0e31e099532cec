"""Helpdesk tasks (durable, see ``jobs.tasks``): remind lawyers of questions not taken within the target,
escalate overdue questions to the Union's admins, and send the monthly figures. Notices go through the outbox,
so a restart loses none and a task that runs twice sends nothing twice (dedupe keys)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import delivery
from bot.i18n import Formatter, in_language
from handlers.helpdesk import views
from jobs.tasks import task_handler
from services import helpdesk as desk
from services import outbox, tasks
from services.helpdesk import HelpdeskConfig, HelpdeskError
from services.people import person_by_telegram_id
from storage.models import Person, utcnow

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)
MONTHLY_TASK = "helpdesk.monthly"
MONTHLY_HOUR = 9  # local time on the 1st
MONTHLY_GRACE = timedelta(days=2)


async def _language(session: Any, telegram_id: int, default: str) -> str:
    person = await person_by_telegram_id(session, telegram_id)
    return person.language if person is not None and person.language else default


@task_handler(desk.REMIND_TASK)
async def remind_lawyers(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """A question still waiting after the take target: every lawyer (and the lawyers' group) is reminded once."""
    config = HelpdeskConfig.from_settings(app.settings)
    async with app.db.session() as session:
        try:
            question = await desk.get(session, int(payload["question_id"]))
        except HelpdeskError:
            return
        if question.status != desk.WAITING:
            return
        if config.hours.seconds(question.queued_since, now) < config.take_target - 1:
            await desk.plan_checks(session, question, config)  # released again meanwhile: later
            return
        if question.reminded_at is not None and question.reminded_at >= question.queued_since:
            return
        stamp = int(question.queued_since.timestamp())
        chats = [(lawyer, await _language(session, lawyer, app.settings.default_language))
                 for lawyer in await desk.lawyer_ids(session)]
        if app.settings.helpdesk_group_chat_id is not None:
            chats.append((app.settings.helpdesk_group_chat_id, app.settings.default_language))
        for chat_id, language in chats:
            with in_language(app.i18n, language):
                fmt = Formatter(language, app.settings.zone)
                text = views.take_reminder_text(question, language, config.hours.seconds(question.queued_since, now),
                                                fmt)
                markup = views.take_keyboard(question.id)
            await delivery.notify(session, chat_id, text, buttons=markup,
                                  dedupe_key=f"helpdesk:remind:{question.id}:{stamp}:{chat_id}")
        question.reminded_at = now


@task_handler(desk.OVERDUE_TASK)
async def escalate_overdue(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """A question without an answer past its target: the admins (and the lawyer holding it) are told once."""
    config = HelpdeskConfig.from_settings(app.settings)
    async with app.db.session() as session:
        try:
            question = await desk.get(session, int(payload["question_id"]))
        except HelpdeskError:
            return
        if question.status not in (desk.WAITING, desk.TAKEN) or question.escalated_at is not None:
            return
        due = desk.due_at(question, config)
        if due is None:
            return
        if due > now + timedelta(seconds=1):
            await desk.plan_checks(session, question, config)  # the clock was paused meanwhile: later
            return
        holder = await views.lawyer_name(session, question.lawyer_id) if question.lawyer_id else None
        recipients = await desk.admin_ids(session, app.settings.admin_ids)
        for chat_id in recipients:
            language = await _language(session, chat_id, app.settings.default_language)
            with in_language(app.i18n, language):
                fmt = Formatter(language, app.settings.zone)
                text = views.overdue_text(question, language, desk.elapsed(question, config, now),
                                          config.answer_target(question.topic), holder, fmt)
            await delivery.notify(session, chat_id, text, dedupe_key=f"helpdesk:overdue:{question.id}:{chat_id}")
        if question.lawyer_id is not None:
            language = await _language(session, question.lawyer_id, app.settings.default_language)
            with in_language(app.i18n, language):
                text = views.overdue_lawyer_text(question)
                markup = views.open_keyboard(question.id)
            await delivery.notify(session, question.lawyer_id, text, buttons=markup,
                                  dedupe_key=f"helpdesk:overdue:{question.id}:{question.lawyer_id}")
        question.escalated_at = now
        log.info("helpdesk: question %s is overdue, %s admins told", question.id, len(recipients))


@task_handler(desk.AUTOCLOSE_TASK)
async def close_unrated(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """An answer neither rated nor followed up: the question closes, and the asker is told how to go on."""
    config = HelpdeskConfig.from_settings(app.settings)
    async with app.db.session() as session:
        try:
            question = await desk.close_unrated(session, int(payload["question_id"]), config=config, now=now)
        except HelpdeskError:
            return
        if question is None or question.asker_id is None:
            return
        asker = await session.get(Person, question.asker_id)
        if asker is None or asker.telegram_id is None:
            return
        with in_language(app.i18n, asker.language or app.settings.default_language):
            text = views.closed_unrated_text(question)
        await delivery.notify(session, asker.telegram_id, text, dedupe_key=f"helpdesk:closed-unrated:{question.id}")


# ---------------------------------------------------------------- the monthly figures


def month_of(moment: datetime, zone: Any) -> str:
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


def report_time(month: str, zone: Any) -> datetime:
    """When the figures of ``month`` go out: 09:00 local on the 1st of the next month."""
    year, number = (int(part) for part in month.split("-"))
    return datetime(year + (number == 12), number % 12 + 1, 1, MONTHLY_HOUR, tzinfo=zone).astimezone(UTC)


async def plan_monthly_report(app: App, now: datetime | None = None) -> None:
    """Make sure this month's figures are scheduled (idempotent: the task's key names the month)."""
    month = month_of(now or utcnow(), app.settings.zone)
    async with app.db.session() as session:
        existing = await tasks.get(session, f"helpdesk:monthly:{month}")
        if existing is None:
            await tasks.schedule(session, kind=MONTHLY_TASK, key=f"helpdesk:monthly:{month}",
                                 run_at=report_time(month, app.settings.zone), payload={"month": month},
                                 grace=MONTHLY_GRACE)


@task_handler(MONTHLY_TASK)
async def monthly_report(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """Last month's figures to every admin, as text and a chart; then the next month is scheduled."""
    from services import helpdesk_stats as stats_service  # loaded on first use, not at start-up

    month = str(payload["month"])
    start, end, label = stats_service.month_bounds(month, app.settings.zone)
    config = HelpdeskConfig.from_settings(app.settings)
    async with app.db.session() as session:
        stats = await stats_service.compute(session, start, end, config, now)
        for chat_id in await desk.admin_ids(session, app.settings.admin_ids):
            language = await _language(session, chat_id, app.settings.default_language)
            with in_language(app.i18n, language):
                text = views.stats_text(stats, language, app.settings, label)
                caption = views.topic_chart_caption(label)
                chart = stats_service.chart_png(stats, views.topic_labels(), caption) if stats.asked else None
            await delivery.notify(session, chat_id, text[:4000], dedupe_key=f"helpdesk:monthly:{label}:{chat_id}")
            if chart is not None:
                await delivery.notify(session, chat_id, caption,
                                      document=outbox.Attachment("photo", f"helpdesk-{label}.png", chart),
                                      dedupe_key=f"helpdesk:monthly:{label}:{chat_id}:chart")
        following = month_of(end + timedelta(days=1), app.settings.zone)
        await tasks.schedule(session, kind=MONTHLY_TASK, key=f"helpdesk:monthly:{following}",
                             run_at=report_time(following, app.settings.zone), payload={"month": following},
                             grace=MONTHLY_GRACE)
