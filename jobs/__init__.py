"""APScheduler jobs. Each process keeps its own in-memory scheduler; jobs that must run once across
processes claim their work in the database, so no job store is shared."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import jobs.events  # noqa: F401 - registers the event reminders' task handler
import jobs.plan  # noqa: F401 - registers the joint action plan's task handlers
from bot.resilience import Outage
from jobs.helpdesk import plan_monthly_report
from jobs.maintenance import prune_processed_updates
from jobs.sender import kick_sender, stop_sender
from jobs.tasks import kick_tasks, stop_tasks
from jobs.voting import close_due_rounds

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.runtime import App


def quiet(job: Callable[..., Awaitable[object]], what: str) -> Callable[..., Awaitable[None]]:
    """A scheduled job whose database or Bot API outage is one line when it starts and one when it ends."""
    outage = Outage(log, what)

    async def run(*args: Any) -> None:
        try:
            await job(*args)
        except Exception as exc:  # noqa: BLE001 - reported by the outage, or with its traceback
            outage.failed(exc)
        else:
            outage.ok()

    run.__name__ = getattr(job, "__name__", what)
    return run


def schedule_jobs(scheduler: AsyncIOScheduler, app: App) -> None:
    scheduler.add_job(quiet(prune_processed_updates, "pruning handled update ids"), "interval", hours=1,
                      args=[app.db], id="prune-processed-updates",
                      replace_existing=True, coalesce=True, max_instances=1)
    # The outbox sender and the durable tasks: cheap "kicks" that start a run unless one is going, so runs
    # never overlap in a process; across processes the rows are claimed in the database.
    every = app.settings.jobs_interval_seconds
    scheduler.add_job(kick_sender, "interval", seconds=every, args=[app], id="outbox-sender",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(kick_tasks, "interval", seconds=every, args=[app], id="scheduled-tasks",
                      replace_existing=True, coalesce=True, max_instances=1)
    # Helpdesk: its task handlers are registered by the import above; this month's figures stay scheduled.
    scheduler.add_job(quiet(plan_monthly_report, "helpdesk monthly report"), "interval", hours=6, args=[app],
                      id="helpdesk-monthly",
                      replace_existing=True, coalesce=True, max_instances=1,
                      next_run_time=datetime.now(UTC) + timedelta(seconds=30))
    # Voting: the close tasks close rounds at their end time; this sweep catches any round they missed.
    scheduler.add_job(quiet(close_due_rounds, "closing due voting rounds"), "interval", minutes=1, args=[app],
                      id="voting-close-due",
                      replace_existing=True, coalesce=True, max_instances=1)


async def stop_jobs(app: App) -> None:
    """Before the bot's session closes: let messages in flight record their answers, give back the rest."""
    await stop_sender(app)
    await stop_tasks(app)
