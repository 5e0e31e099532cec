"""APScheduler jobs. Each process keeps its own in-memory scheduler; jobs that must run once across
processes claim their work in the database, so no job store is shared."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from jobs.maintenance import prune_processed_updates

if TYPE_CHECKING:
    from bot.app import Jamaat


def schedule_jobs(scheduler: AsyncIOScheduler, app: Jamaat) -> None:
    scheduler.add_job(prune_processed_updates, "interval", hours=1, args=[app.db], id="prune-processed-updates",
                      replace_existing=True, coalesce=True, max_instances=1)
