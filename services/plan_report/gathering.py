"""What a plan's report is made of, read from the database once (``PlanReport``, ``gather``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services import plan as plans
from services.plan import Composition, Money, SurveyResults
from storage.models import AiylAimak, Person, Village, utcnow
from storage.plan import MonitoringAnswer, Plan, PlanActivity, PlanFunding, PlanGroup, PlanPriority


@dataclass
class PlanReport:
    plan: Plan
    aiyl_aimak: AiylAimak
    villages: dict[int, Village]
    priorities: list[PlanPriority]
    activities: list[PlanActivity]
    funding: dict[int, list[PlanFunding]]
    answers: list[MonitoringAnswer]  # within the period
    people: dict[int, Person]  # authors, members and responsible persons
    monitoring: PlanGroup | None
    members: list[Person]
    surveys: list[SurveyResults]
    period_start: date | None
    period_end: date  # inclusive
    today: date

    @property
    def composition(self) -> Composition:
        return plans.composition(self.members)

    @property
    def progress(self) -> float | None:
        return plans.plan_progress(self.activities)

    def money(self, activity_ids: Sequence[int] | None = None) -> dict[str, Money]:
        return plans.money_by_source(self.funding, activity_ids)

    def total_money(self) -> Money:
        return sum(self.money().values(), Money())

    def activity_money(self, activity: PlanActivity) -> Money:
        return sum((Money(r.planned_som, r.spent_som) for r in self.funding.get(activity.id, [])), Money())

    def priority(self, activity: PlanActivity) -> PlanPriority | None:
        return next((p for p in self.priorities if p.id == activity.priority_id), None)


async def gather(session: AsyncSession, plan: Plan, *, zone: ZoneInfo, year_ending: date | None = None,
                 now: datetime | None = None) -> PlanReport:
    """Everything the report needs, read once. ``year_ending``: the yearly report of the year up to that day
    (monitoring answers of that year); otherwise everything so far."""
    now = now or utcnow()
    today = plans.local_day(now, zone)
    aimak = await session.get(AiylAimak, plan.aiyl_aimak_id)
    assert aimak is not None
    activities = await plans.activities_of(session, plan.id)
    ids = [a.id for a in activities]
    start = None
    end = year_ending or today
    answers = await plans.answers_of(session, ids)
    if year_ending is not None:
        start = plans.add_months(year_ending, -12) + timedelta(days=1)
        answers = [a for a in answers if start <= plans.local_day(a.answered_at, zone) <= end]
    monitoring = await plans.monitoring_group(session, plan.id)
    members = await plans.members_of(session, monitoring.id) if monitoring is not None else []
    wanted = {a.person_id for a in answers if a.person_id} | {a.responsible_person_id for a in activities
                                                               if a.responsible_person_id}
    people = {p.id: p for p in members}
    for person_id in wanted - set(people):
        person = await session.get(Person, person_id)
        if person is not None:
            people[person_id] = person
    surveys = [await plans.survey_results(session, s) for s in await plans.surveys_of(session, plan.id)]
    return PlanReport(
        plan=plan, aiyl_aimak=aimak, villages={v.id: v for v in await plans.villages_of(session, aimak.id)},
        priorities=await plans.priorities_of(session, plan.id), activities=activities,
        funding=await plans.funding_of(session, ids), answers=answers, people=people, monitoring=monitoring,
        members=members, surveys=surveys, period_start=start, period_end=end, today=today,
    )
