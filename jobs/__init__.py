"""The periodic jobs (``jobs.clock``). Each process keeps its own clock; jobs that must run once across processes
claim their work in the database, so nothing about them is shared."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import jobs.events  # noqa: F401 - registers the event reminders' task handler
import jobs.plan  # noqa: F401 - registers the joint action plan's task handlers
from bot.resilience import Outage
from jobs.clock import Clock
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


def schedule_jobs(clock: Clock, app: App) -> None:
    clock.every(3600, quiet(prune_processed_updates, "pruning handled update ids"), app.db,
                name="prune-processed-updates")
    # The outbox sender and the durable tasks: cheap "kicks" that start a run unless one is going, so runs
    # never overlap in a process; across processes the rows are claimed in the database.
    every = app.settings.jobs_interval_seconds
    clock.every(every, kick_sender, app, name="outbox-sender")
    clock.every(every, kick_tasks, app, name="scheduled-tasks")
    # Helpdesk: its task handlers are registered by the import above; this month's figures stay scheduled.
    clock.every(6 * 3600, quiet(plan_monthly_report, "helpdesk monthly report"), app, name="helpdesk-monthly",
                first=30)
    # Voting: the close tasks close rounds at their end time; this sweep catches any round they missed.
    clock.every(60, quiet(close_due_rounds, "closing due voting rounds"), app, name="voting-close-due")


async def stop_jobs(app: App) -> None:
    """Before the bot's session closes: let messages in flight record their answers, give back the rest."""
    await stop_sender(app)
    await stop_tasks(app)
