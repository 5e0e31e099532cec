"""The monitoring group's answers at an occasion: who may answer, recording an answer (which moves the
activity's progress and status), and who has not answered yet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.plan.activities import set_status
from services.plan.common import STATUSES, PlanError
from services.plan.groups import is_monitor, members_of, monitoring_group
from storage import db
from storage.models import Person, utcnow
from storage.plan import MonitoringAnswer, MonitoringOccasion, Plan, PlanActivity, PlanStatusChange


@dataclass(frozen=True)
class Prompt:
    """What a member may answer: the occasion, its activity and plan."""

    occasion: MonitoringOccasion
    activity: PlanActivity
    plan: Plan


async def check_may_answer(session: AsyncSession, occasion_id: int, person: Person | None) -> Prompt:
    """Only a member of the plan's monitoring group answers, and only while the activity is open."""
    occasion = await session.get(MonitoringOccasion, occasion_id)
    if occasion is None:
        raise PlanError("not_found")
    activity = await session.get(PlanActivity, occasion.activity_id, populate_existing=True)
    assert activity is not None
    plan = await session.get(Plan, activity.plan_id)
    assert plan is not None
    if person is None or not person.is_registered or not await is_monitor(session, plan.id, person.id):
        raise PlanError("not_a_monitor")
    if activity.status == "cancelled":
        raise PlanError("activity_closed")
    return Prompt(occasion, activity, plan)


async def record_answer(session: AsyncSession, occasion_id: int, person: Person | None, *, status: str,
                        percent: int, comment: str = "", photo_file_id: str | None = None,
                        voice_file_id: str | None = None,
                        now: datetime | None = None) -> tuple[MonitoringAnswer, PlanStatusChange | None]:
    """Keep a member's answer (again on the same occasion: replaced) and update the activity's progress and
    status from it; a voice note (its file id) may stand for or add to the comment. Returns the answer and the
    status change, if any."""
    if status not in STATUSES:
        raise PlanError("bad_status")
    if not 0 <= percent <= 100:
        raise PlanError("bad_percent")
    prompt = await check_may_answer(session, occasion_id, person)
    assert person is not None
    now = now or utcnow()
    comment = comment.strip()[:2000]
    table = MonitoringAnswer.__table__
    values = {"status": status, "percent": 100 if status == "done" else percent, "comment": comment,
              "photo_file_id": photo_file_id, "voice_file_id": voice_file_id, "answered_at": now}
    statement = db.insert(session, table).values(occasion_id=occasion_id, activity_id=prompt.activity.id,
                                               person_id=person.id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["occasion_id", "person_id"], set_=values))
    answer = await session.scalar(select(MonitoringAnswer).where(MonitoringAnswer.occasion_id == occasion_id,
                                                                 MonitoringAnswer.person_id == person.id)
                                  .execution_options(populate_existing=True))
    assert answer is not None
    change = await set_status(session, prompt.activity, status, progress=answer.percent, by_person_id=person.id,
                              source="monitoring", now=now)
    return answer, change


async def answers_of(session: AsyncSession, activity_ids: Sequence[int]) -> list[MonitoringAnswer]:
    if not activity_ids:
        return []
    query = (select(MonitoringAnswer).where(MonitoringAnswer.activity_id.in_(list(activity_ids)))
             .order_by(MonitoringAnswer.answered_at, MonitoringAnswer.id))
    return list((await session.scalars(query)).all())


async def members_without_answer(session: AsyncSession, occasion: MonitoringOccasion) -> list[Person]:
    activity = await session.get(PlanActivity, occasion.activity_id)
    assert activity is not None
    grp = await monitoring_group(session, activity.plan_id)
    if grp is None:
        return []
    answered = set(await session.scalars(select(MonitoringAnswer.person_id).where(
        MonitoringAnswer.occasion_id == occasion.id, MonitoringAnswer.person_id.is_not(None))))
    return [p for p in await members_of(session, grp.id) if p.id not in answered]
