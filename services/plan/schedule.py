"""The monitoring schedule: each activity's monitoring dates, and the occasions opened on them with their
follow-up tasks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import audit
from services.plan.common import (
    ESCALATE_TASK,
    MONITOR_TASK,
    NOTICE_GRACE,
    PROMPT_GRACE,
    REMIND_TASK,
    PlanError,
    add_months,
    at_local,
)
from storage import db
from storage.models import utcnow
from storage.plan import MonitoringOccasion, Plan, PlanActivity


def monitoring_dates(activity: PlanActivity) -> list[date]:
    """Every monitoring date of an activity: every N months from its start (or ``monitor_from``) up to its due
    date, and the set dates."""
    days: set[date] = {date.fromisoformat(d) for d in activity.monitor_dates or []}
    if activity.monitor_every_months:
        first = activity.monitor_from or add_months(activity.starts_on, activity.monitor_every_months)
        step = 0
        while (day := add_months(first, step * activity.monitor_every_months)) <= activity.due_on:
            days.add(day)
            step += 1
    return sorted(days)


async def set_monitoring(session: AsyncSession, activity: PlanActivity, *, every_months: int | None,
                         dates: Iterable[date] = (), start: date | None = None, zone: ZoneInfo,
                         by: int | None = None, now: datetime | None = None) -> list[date]:
    """Set the monitoring schedule and (re)schedule one durable task per future date."""
    if every_months is not None and not 1 <= every_months <= 12:
        raise PlanError("bad_schedule")
    now = now or utcnow()
    activity.monitor_every_months = every_months
    activity.monitor_from = start
    activity.monitor_dates = sorted({d.isoformat() for d in dates})
    await tasks.cancel_prefix(session, f"plan:monitor:{activity.id}:")
    days = monitoring_dates(activity)
    for day in days:
        run_at = at_local(day, zone)
        if run_at + PROMPT_GRACE < now:
            continue
        await tasks.schedule(session, kind=MONITOR_TASK, key=f"plan:monitor:{activity.id}:{day.isoformat()}",
                             run_at=run_at, payload={"activity_id": activity.id, "day": day.isoformat()},
                             grace=PROMPT_GRACE)
    audit(session, by, "plan.activity.monitoring", "plan_activity", activity.id, every_months=every_months,
           dates=activity.monitor_dates)
    await session.flush()
    return days


async def open_occasion(session: AsyncSession, activity_id: int, due_at: datetime) -> MonitoringOccasion:
    """The occasion of this date, created once however many times (or processes) ask."""
    table = MonitoringOccasion.__table__
    await session.execute(db.insert(session, table).values(activity_id=activity_id, due_at=due_at, created_at=utcnow())
                          .on_conflict_do_nothing(index_elements=["activity_id", "due_at"]))
    occasion = await session.scalar(select(MonitoringOccasion).where(MonitoringOccasion.activity_id == activity_id,
                                                                     MonitoringOccasion.due_at == due_at))
    assert occasion is not None
    return occasion


async def schedule_follow_ups(session: AsyncSession, plan: Plan, occasion: MonitoringOccasion) -> None:
    """The reminder to members who have not answered, then the notice to the organisers."""
    remind_at = occasion.due_at + timedelta(days=plan.remind_after_days)
    await tasks.schedule(session, kind=REMIND_TASK, key=f"plan:remind:{occasion.id}", run_at=remind_at,
                         payload={"occasion_id": occasion.id}, grace=PROMPT_GRACE)
    await tasks.schedule(session, kind=ESCALATE_TASK, key=f"plan:escalate:{occasion.id}",
                         run_at=remind_at + timedelta(days=plan.escalate_after_days),
                         payload={"occasion_id": occasion.id}, grace=NOTICE_GRACE)


async def get_occasion(session: AsyncSession, occasion_id: int) -> MonitoringOccasion | None:
    return await session.get(MonitoringOccasion, occasion_id)
