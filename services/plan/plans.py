"""Plans: finding them, making one from a closed voting round's priorities, approval and the yearly task."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services import voting as voting_service
from services.audit import audit
from services.plan.common import NOTICE_GRACE, YEARLY_TASK, PlanError, _clean, add_months, at_local, local_day
from services.roles import Roles
from storage.models import utcnow
from storage.plan import Plan, PlanActivity, PlanPriority


async def plans_of(session: AsyncSession, aiyl_aimak_ids: Iterable[int]) -> list[Plan]:
    query = select(Plan).where(Plan.aiyl_aimak_id.in_(list(aiyl_aimak_ids))).order_by(Plan.id.desc())
    return list((await session.scalars(query)).all())


async def current_plan(session: AsyncSession, aiyl_aimak_id: int | None) -> Plan | None:
    """The newest plan of an aiyl aimak (the one villagers see)."""
    if aiyl_aimak_id is None:
        return None
    return await session.scalar(select(Plan).where(Plan.aiyl_aimak_id == aiyl_aimak_id)
                                .order_by(Plan.id.desc()).limit(1))


async def get_plan(session: AsyncSession, plan_id: int) -> Plan | None:
    return await session.get(Plan, plan_id, populate_existing=True)


async def plan_for_organiser(session: AsyncSession, roles: Roles, plan_id: int) -> Plan:
    """The plan if this organiser may manage it; another aiyl aimak's plan is as good as missing."""
    plan = await get_plan(session, plan_id)
    if plan is None or not roles.may_organise(plan.aiyl_aimak_id):
        raise PlanError("not_found")
    return plan


async def activity_for_organiser(session: AsyncSession, roles: Roles, activity_id: int) -> tuple[Plan, PlanActivity]:
    activity = await session.get(PlanActivity, activity_id, populate_existing=True)
    if activity is None:
        raise PlanError("not_found")
    return await plan_for_organiser(session, roles, activity.plan_id), activity


async def closed_rounds_without_plan(session: AsyncSession, aiyl_aimak_ids: Iterable[int]) -> list[Any]:
    """Closed voting rounds of these aiyl aimaks that have no plan yet, newest first."""
    from storage.voting import VotingRound

    has_plan = select(Plan.round_id).where(Plan.round_id.is_not(None))
    query = (select(VotingRound).where(VotingRound.aiyl_aimak_id.in_(list(aiyl_aimak_ids)),
                                       VotingRound.phase == "closed", VotingRound.id.not_in(has_plan))
             .order_by(VotingRound.closed_at.desc(), VotingRound.id.desc()))
    return list((await session.scalars(query)).all())


def round_priorities(results: Any, *, per_village: bool = False) -> list[tuple[int, int]]:
    """(problem id, votes) for a plan: the aiyl aimak's top five, or (``per_village``) each village's own top
    five together, so a small village's first priority does not vanish under the big village's votes. Votes are
    the aiyl aimak's totals; the order is by them (merges applied; ties at a cut all come in)."""
    if not per_village:
        return [(r.problem_id, r.votes) for r in results.top().items]
    total = results.merged.total()
    chosen = {r.problem_id for village in results.villages for r in results.top(village.id).items}
    return sorted(((p, total.get(p, 0)) for p in chosen), key=lambda item: (-item[1], item[0]))


async def create_from_round(session: AsyncSession, roles: Roles, round_id: int, *, by: int | None,
                            title: str | None = None, per_village: bool = False) -> Plan:
    """A plan for the round's aiyl aimak with the round's priorities: the aiyl aimak's top five by votes (merges
    applied; problems tied at the cut all come in), or each village's own top five (``per_village``). Only a
    closed round, one plan per round."""
    rnd = await voting_service.get_round(session, round_id)
    if rnd is None or not roles.may_organise(rnd.aiyl_aimak_id):
        raise PlanError("not_found")
    if rnd.phase != "closed":
        raise PlanError("round_not_closed")
    if await session.scalar(select(Plan.id).where(Plan.round_id == rnd.id)) is not None:
        raise PlanError("plan_exists")
    results = await voting_service.results(session, rnd)
    chosen = round_priorities(results, per_village=per_village)
    if not chosen:
        raise PlanError("no_priorities")
    plan = Plan(aiyl_aimak_id=rnd.aiyl_aimak_id, round_id=rnd.id, title=_clean(title or rnd.title, 200),
                created_by=by)
    session.add(plan)
    await session.flush()  # the UNIQUE round_id decides when two organisers make it at once
    for position, (problem_id, votes) in enumerate(chosen, start=1):
        problem = results.problems[problem_id]
        session.add(PlanPriority(plan_id=plan.id, problem_id=problem.id, position=position, title_ky=problem.title_ky,
                                 title_ru=problem.title_ru, votes=votes, competence=problem.competence))
    audit(session, by, "plan.create", "plan", plan.id, round_id=rnd.id, priorities=[p for p, _votes in chosen],
          per_village=per_village)
    await session.flush()
    return plan


async def priorities_of(session: AsyncSession, plan_id: int) -> list[PlanPriority]:
    query = select(PlanPriority).where(PlanPriority.plan_id == plan_id).order_by(PlanPriority.position)
    return list((await session.scalars(query)).all())


def priority_title(priority: PlanPriority, language: str) -> str:
    return priority.title_ru if language in ("ru", "uz") else priority.title_ky


async def approve(session: AsyncSession, plan: Plan, approved_on: date, decision: str = "", *, by: int | None,
                  zone: ZoneInfo) -> None:
    """Record the council's approval; the yearly monitoring report is due on each anniversary."""
    plan.council_approved_on = approved_on
    plan.council_decision = _clean(decision, 200) or None
    audit(session, by, "plan.approve", "plan", plan.id, on=approved_on.isoformat(), decision=decision)
    await schedule_yearly(session, plan, zone)
    await session.flush()


async def schedule_yearly(session: AsyncSession, plan: Plan, zone: ZoneInfo, *, year: int = 1) -> None:
    """The yearly report ``year`` years after the approval (or the plan's creation)."""
    start = plan.council_approved_on or local_day(plan.created_at or utcnow(), zone)
    await tasks.schedule(session, kind=YEARLY_TASK, key=f"plan:yearly:{plan.id}",
                         run_at=at_local(add_months(start, 12 * year), zone),
                         payload={"plan_id": plan.id, "year": year}, grace=NOTICE_GRACE)
