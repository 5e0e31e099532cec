"""Satisfaction surveys about a municipal service: occasions, scores 1–5, results per village and group."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import audit
from services.plan.common import PROMPT_GRACE, SERVICES, SURVEY_TASK, PlanError, add_months
from storage import db
from storage.models import Person, utcnow
from storage.plan import Plan, SatisfactionSurvey, SurveyAnswer, SurveyOccasion


async def create_survey(session: AsyncSession, plan: Plan, service: str, first_at: datetime, *,
                        every_months: int | None, times: int = 1, by: int | None) -> SatisfactionSurvey:
    """Ask the plan's villagers about a service at ``first_at`` and then every N months, ``times`` in all."""
    if service not in SERVICES:
        raise PlanError("bad_service")
    if every_months is not None and not 1 <= every_months <= 12:
        raise PlanError("bad_schedule")
    if not 1 <= times <= 36 or (times > 1 and every_months is None):
        raise PlanError("bad_schedule")
    survey = SatisfactionSurvey(plan_id=plan.id, service=service, first_at=first_at, every_months=every_months,
                                times=times, active=True, created_by=by)
    session.add(survey)
    await session.flush()
    for number in range(1, times + 1):
        await tasks.schedule(session, kind=SURVEY_TASK, key=f"plan:survey:{survey.id}:{number}",
                             run_at=survey_time(survey, number), payload={"survey_id": survey.id, "number": number},
                             grace=PROMPT_GRACE)
    audit(session, by, "plan.survey.create", "plan_survey", survey.id, service=service, times=times)
    return survey


def survey_time(survey: SatisfactionSurvey, number: int) -> datetime:
    if number == 1 or not survey.every_months:
        return survey.first_at
    first = survey.first_at
    day = add_months(first.date(), survey.every_months * (number - 1))
    return first.replace(year=day.year, month=day.month, day=day.day)


async def surveys_of(session: AsyncSession, plan_id: int) -> list[SatisfactionSurvey]:
    query = select(SatisfactionSurvey).where(SatisfactionSurvey.plan_id == plan_id).order_by(SatisfactionSurvey.id)
    return list((await session.scalars(query)).all())


async def open_survey_occasion(session: AsyncSession, survey: SatisfactionSurvey, number: int,
                               asked_at: datetime) -> SurveyOccasion:
    table = SurveyOccasion.__table__
    await session.execute(db.insert(session, table).values(survey_id=survey.id, number=number, asked_at=asked_at)
                          .on_conflict_do_nothing(index_elements=["survey_id", "number"]))
    occasion = await session.scalar(select(SurveyOccasion).where(SurveyOccasion.survey_id == survey.id,
                                                                 SurveyOccasion.number == number))
    assert occasion is not None
    return occasion


async def record_score(session: AsyncSession, occasion_id: int, person: Person | None, score: int,
                       now: datetime | None = None) -> SatisfactionSurvey:
    """A villager's score 1–5 (again on the same occasion: replaced). Village, sex and age group are copied."""
    if not 1 <= score <= 5:
        raise PlanError("bad_score")
    occasion = await session.get(SurveyOccasion, occasion_id)
    if occasion is None:
        raise PlanError("not_found")
    survey = await session.get(SatisfactionSurvey, occasion.survey_id)
    assert survey is not None
    plan = await session.get(Plan, survey.plan_id)
    assert plan is not None
    if person is None or not person.is_registered or person.aiyl_aimak_id != plan.aiyl_aimak_id:
        raise PlanError("other_aiyl_aimak")
    if not survey.active:
        raise PlanError("survey_closed")
    values = {"score": score, "answered_at": now or utcnow(), "village_id": person.village_id, "sex": person.sex,
              "age_band": person.age_band}
    table = SurveyAnswer.__table__
    await session.execute(db.insert(session, table).values(survey_id=survey.id, occasion_id=occasion.id,
                                                         person_id=person.id, **values)
                          .on_conflict_do_update(index_elements=["occasion_id", "person_id"], set_=values))
    return survey


@dataclass(frozen=True)
class Scores:
    answers: int
    total: int

    @property
    def mean(self) -> float | None:
        return self.total / self.answers if self.answers else None


@dataclass
class SurveyResults:
    survey: SatisfactionSurvey
    overall: Scores
    by_village: dict[int | None, Scores]
    by_sex: dict[str | None, Scores]
    by_band: dict[str | None, Scores]
    by_occasion: dict[int, Scores]  # occasion number → scores
    distribution: dict[int, int]  # score → answers


async def survey_results(session: AsyncSession, survey: SatisfactionSurvey) -> SurveyResults:
    """Answers and mean scores per village, sex, age group and occasion (grouped in the database)."""
    rows = (await session.execute(
        select(SurveyAnswer.village_id, SurveyAnswer.sex, SurveyAnswer.age_band, SurveyOccasion.number,
               SurveyAnswer.score, func.count())
        .join(SurveyOccasion, SurveyOccasion.id == SurveyAnswer.occasion_id)
        .where(SurveyAnswer.survey_id == survey.id)
        .group_by(SurveyAnswer.village_id, SurveyAnswer.sex, SurveyAnswer.age_band, SurveyOccasion.number,
                  SurveyAnswer.score))).all()
    sums: dict[str, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    distribution: Counter[int] = Counter()
    for village_id, sex, band, number, score, count in rows:
        count = int(count)
        distribution[int(score)] += count
        for name, key in (("all", None), ("village", village_id), ("sex", sex), ("band", band), ("occ", number)):
            sums[name][key][0] += count
            sums[name][key][1] += count * int(score)

    def scores(name: str) -> dict[Any, Scores]:
        return {key: Scores(n, total) for key, (n, total) in sums[name].items()}

    return SurveyResults(survey=survey, overall=scores("all").get(None, Scores(0, 0)), by_village=scores("village"),
                         by_sex=scores("sex"), by_band=scores("band"), by_occasion=scores("occ"),
                         distribution=dict(sorted(distribution.items())))
