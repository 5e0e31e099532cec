"""Activities: adding them, funding by source, status and due date (with the overdue task), and the plan's
progress and money by source."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import audit
from services.plan.common import (
    CLOSED_STATUSES,
    MAX_MONEY,
    NOTICE_GRACE,
    OVERDUE_TASK,
    RESPONSIBLE_KINDS,
    SOURCES,
    STATUS_TASK,
    STATUSES,
    PlanError,
    _clean,
    at_local,
)
from services.plan.schedule import set_monitoring
from storage.models import Person, utcnow
from storage.plan import Plan, PlanActivity, PlanFunding, PlanPriority, PlanStatusChange


@dataclass
class ActivityInput:
    title: str
    responsible_kind: str
    starts_on: date
    due_on: date
    priority_id: int | None = None
    responsible_person_id: int | None = None
    responsible_name: str = ""
    content: str = ""
    expected_result: str = ""
    indicators: str = ""
    funding: dict[str, int] = field(default_factory=dict)  # source → planned som
    monitor_every_months: int | None = None
    monitor_dates: list[date] = field(default_factory=list)


def check_activity(data: ActivityInput) -> None:
    if len(data.title.strip()) < 3:
        raise PlanError("empty_title")
    if data.responsible_kind not in RESPONSIBLE_KINDS:
        raise PlanError("bad_responsible")
    if data.due_on < data.starts_on:
        raise PlanError("bad_dates")
    for source, amount in data.funding.items():
        if source not in SOURCES or not 0 <= amount <= MAX_MONEY:
            raise PlanError("bad_amount")
    if data.monitor_every_months is not None and not 1 <= data.monitor_every_months <= 12:
        raise PlanError("bad_schedule")


async def add_activity(session: AsyncSession, plan: Plan, data: ActivityInput, *, by: int | None,
                       zone: ZoneInfo, now: datetime | None = None) -> PlanActivity:
    check_activity(data)
    if data.priority_id is not None:
        priority = await session.get(PlanPriority, data.priority_id)
        if priority is None or priority.plan_id != plan.id:
            raise PlanError("not_found")
    if data.responsible_person_id is not None:
        person = await session.get(Person, data.responsible_person_id)
        if person is None or person.aiyl_aimak_id != plan.aiyl_aimak_id:
            raise PlanError("other_aiyl_aimak")
    activity = PlanActivity(
        plan_id=plan.id, priority_id=data.priority_id, title=_clean(data.title, 300), content=data.content.strip(),
        responsible_kind=data.responsible_kind, responsible_person_id=data.responsible_person_id,
        responsible_name=_clean(data.responsible_name, 200), starts_on=data.starts_on, due_on=data.due_on,
        expected_result=data.expected_result.strip(), indicators=data.indicators.strip(), status="planned",
        progress=0, created_by=by, monitor_dates=[],
    )
    session.add(activity)
    await session.flush()
    for source, amount in data.funding.items():
        session.add(PlanFunding(activity_id=activity.id, source=source, planned_som=amount, spent_som=0))
    audit(session, by, "plan.activity.add", "plan_activity", activity.id, plan_id=plan.id)
    await session.flush()
    await set_monitoring(session, activity, every_months=data.monitor_every_months, dates=data.monitor_dates,
                         zone=zone, by=by, now=now)
    await schedule_overdue(session, activity, zone)
    return activity


async def activities_of(session: AsyncSession, plan_id: int) -> list[PlanActivity]:
    query = (select(PlanActivity).where(PlanActivity.plan_id == plan_id)
             .order_by(PlanActivity.priority_id.is_(None), PlanActivity.priority_id, PlanActivity.id))
    return list((await session.scalars(query)).all())


async def get_activity(session: AsyncSession, activity_id: int) -> PlanActivity | None:
    return await session.get(PlanActivity, activity_id, populate_existing=True)


async def set_funding(session: AsyncSession, activity: PlanActivity, source: str, *, planned: int | None = None,
                      spent: int | None = None, by: int | None = None) -> PlanFunding:
    """Set the planned and/or spent amount of one source of an activity."""
    if source not in SOURCES:
        raise PlanError("bad_source")
    for amount in (planned, spent):
        if amount is not None and not 0 <= amount <= MAX_MONEY:
            raise PlanError("bad_amount")
    row = await session.scalar(select(PlanFunding).where(PlanFunding.activity_id == activity.id,
                                                         PlanFunding.source == source))
    if row is None:
        row = PlanFunding(activity_id=activity.id, source=source, planned_som=0, spent_som=0)
        session.add(row)
    if planned is not None:
        row.planned_som = planned
    if spent is not None:
        row.spent_som = spent
    audit(session, by, "plan.funding", "plan_activity", activity.id, source=source, planned=planned, spent=spent)
    await session.flush()
    return row


async def funding_of(session: AsyncSession, activity_ids: Sequence[int]) -> dict[int, list[PlanFunding]]:
    grouped: dict[int, list[PlanFunding]] = defaultdict(list)
    if activity_ids:
        rows = await session.scalars(select(PlanFunding).where(PlanFunding.activity_id.in_(list(activity_ids)))
                                     .order_by(PlanFunding.activity_id, PlanFunding.id))
        for row in rows:
            grouped[row.activity_id].append(row)
    return dict(grouped)


async def set_status(session: AsyncSession, activity: PlanActivity, status: str, *, progress: int | None = None,
                     by_person_id: int | None = None, by: int | None = None, source: str = "organiser",
                     now: datetime | None = None) -> PlanStatusChange | None:
    """Change an activity's status (and progress); a real change is recorded and its followers are told by a
    durable task. Returns the change, or None when the status stayed the same."""
    if status not in STATUSES:
        raise PlanError("bad_status")
    if progress is not None and not 0 <= progress <= 100:
        raise PlanError("bad_percent")
    now = now or utcnow()
    if status == "done":
        progress = 100
    if progress is not None:
        activity.progress = progress
    if status == activity.status:
        await session.flush()
        return None
    change = PlanStatusChange(activity_id=activity.id, old_status=activity.status, new_status=status,
                              progress=activity.progress, by_person_id=by_person_id, source=source, at=now)
    activity.status = status
    activity.status_changed_at = now
    session.add(change)
    audit(session, by, "plan.activity.status", "plan_activity", activity.id, old=change.old_status, new=status,
           source=source)
    await session.flush()
    await tasks.schedule(session, kind=STATUS_TASK, key=f"plan:status:{change.id}", run_at=now,
                         payload={"change_id": change.id}, grace=NOTICE_GRACE)
    if status in CLOSED_STATUSES:
        await tasks.cancel_prefix(session, f"plan:monitor:{activity.id}:")
    return change


async def status_change(session: AsyncSession, change_id: int) -> PlanStatusChange | None:
    return await session.get(PlanStatusChange, change_id)


def is_overdue(activity: PlanActivity, today: date) -> bool:
    return activity.status not in CLOSED_STATUSES and activity.due_on < today


async def schedule_overdue(session: AsyncSession, activity: PlanActivity, zone: ZoneInfo) -> None:
    """The overdue notice the morning after the due date (the same key moves with the date)."""
    await tasks.schedule(session, kind=OVERDUE_TASK, key=f"plan:overdue:{activity.id}",
                         run_at=at_local(activity.due_on + timedelta(days=1), zone),
                         payload={"activity_id": activity.id, "due": activity.due_on.isoformat()}, grace=NOTICE_GRACE)


async def set_due(session: AsyncSession, activity: PlanActivity, due_on: date, *, by: int | None,
                  zone: ZoneInfo) -> None:
    if due_on < activity.starts_on:
        raise PlanError("bad_dates")
    activity.due_on = due_on
    audit(session, by, "plan.activity.due", "plan_activity", activity.id, due=due_on.isoformat())
    await session.flush()
    await schedule_overdue(session, activity, zone)


# --------------------------------------------------------------------------- progress


def plan_progress(activities: Sequence[PlanActivity]) -> float | None:
    """Mean progress (0–1) of the activities that are not cancelled."""
    counted = [a for a in activities if a.status != "cancelled"]
    if not counted:
        return None
    return sum(100 if a.status == "done" else a.progress for a in counted) / (100 * len(counted))


@dataclass(frozen=True)
class Money:
    planned: int = 0
    spent: int = 0

    def __add__(self, other: Money) -> Money:
        return Money(self.planned + other.planned, self.spent + other.spent)


def money_by_source(funding: dict[int, list[PlanFunding]],
                    activity_ids: Iterable[int] | None = None) -> dict[str, Money]:
    """Planned and spent som per source (of the given activities, or all)."""
    wanted = set(activity_ids) if activity_ids is not None else None
    totals: dict[str, Money] = {}
    for activity_id, rows in funding.items():
        if wanted is not None and activity_id not in wanted:
            continue
        for row in rows:
            totals[row.source] = totals.get(row.source, Money()) + Money(row.planned_som, row.spent_som)
    return {source: totals[source] for source in SOURCES if source in totals}
