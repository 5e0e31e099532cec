"""The joint action plan (БАП) and citizen monitoring: the rules, with no aiogram.

- A plan is made from a closed voting round's priorities (the aiyl aimak's top five, ties shown, merges
  applied); one plan per round (a database constraint). Activities carry the responsible party, dates, funding
  by source (several per activity, in som), expected result, indicators and a status.
- Initiative groups and the monitoring group (БМжБТ) of registered villagers of the plan's aiyl aimak, with the
  mandate (order of the aiyl okmotu head) and the composition by sex, age group and village.
- Monitoring: each activity has dates (every N months and/or set dates); at each date a durable task
  (``services.tasks``) opens an occasion and ``jobs.plan`` asks the members. Answers are kept with time and
  author and update the activity's progress and status; status changes are recorded and a task tells followers.
- Satisfaction surveys about a municipal service, scores 1–5, results per village and group.

Refusals are ``PlanError`` with a ``code``; handlers turn codes into translated text."""

from __future__ import annotations

import calendar
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services import voting as voting_service
from services.audit import RuleError, audit
from services.roles import Role, Roles
from storage import db
from storage.models import Person, RoleGrant, Village, utcnow
from storage.plan import (
    MonitoringAnswer,
    MonitoringOccasion,
    Plan,
    PlanActivity,
    PlanFollower,
    PlanFunding,
    PlanGroup,
    PlanGroupMember,
    PlanPriority,
    PlanStatusChange,
    SatisfactionSurvey,
    SurveyAnswer,
    SurveyOccasion,
)

STATUSES = ("planned", "in_progress", "done", "stalled", "cancelled")
CLOSED_STATUSES = ("done", "cancelled")
RESPONSIBLE_KINDS = ("aiyl_okmotu", "council", "initiative_group", "person")
SOURCES = ("local_budget", "grant", "community", "sponsor", "other")
SERVICES = ("water", "school", "health_post", "roads")
GROUP_KINDS = ("initiative", "monitoring")
PERCENTS = (0, 25, 50, 75, 100)
MIN_MINORITY_SHARE = 0.30  # working, initiative and monitoring groups: the minority sex at least 30 %
MAX_MONEY = 10**12  # som
PROMPT_HOUR = 10  # local time of monitoring prompts, notices and surveys

# Durable task kinds (handlers in jobs/plan.py).
MONITOR_TASK = "plan.monitor"
REMIND_TASK = "plan.remind"
ESCALATE_TASK = "plan.escalate"
OVERDUE_TASK = "plan.overdue"
STATUS_TASK = "plan.status"
SURVEY_TASK = "plan.survey"
YEARLY_TASK = "plan.yearly"
# How late a task may still run after the bot was down.
PROMPT_GRACE = timedelta(days=2)
NOTICE_GRACE = timedelta(days=7)


class PlanError(RuleError):
    """Something the rules refuse; ``code`` names it, ``detail`` carries what the message needs."""




# --------------------------------------------------------------------------- dates and money


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of a shorter month)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def at_local(day: date, zone: ZoneInfo, hour: int = PROMPT_HOUR) -> datetime:
    """``hour`` o'clock of ``day`` in the municipality's time zone, as an aware datetime."""
    return datetime.combine(day, time(hour), tzinfo=zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


# A date, with the Kyrgyz "-ж." or the Russian "г." after it when written so ("02.04.2026-ж. №15 буйрук").
DATE_RE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:\s*-?ж\.|\s*г\.)?|(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_dates(text: str) -> list[date]:
    """Dates written as 31.12.2026, 31/12/2026 or 2026-12-31, in the order given."""
    found: list[date] = []
    for match in DATE_RE.finditer(text):
        try:
            if match.group(1):
                found.append(date(int(match.group(3)), int(match.group(2)), int(match.group(1))))
            else:
                found.append(date(int(match.group(4)), int(match.group(5)), int(match.group(6))))
        except ValueError as exc:
            raise PlanError("bad_date", text=match.group(0)) from exc
    return found


def parse_som(text: str) -> int:
    """An amount in som: "580 000", "580,000", "580000 сом"; whole som."""
    digits = re.sub(r"[\s\u00a0\u202f,'’]", "", text.strip().lower())
    digits = re.sub(r"(сом|som|с)\.?$", "", digits)
    if not digits.isdigit():
        raise PlanError("bad_amount")
    value = int(digits)
    if value > MAX_MONEY:
        raise PlanError("bad_amount")
    return value


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


# --------------------------------------------------------------------------- plans


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


# --------------------------------------------------------------------------- activities


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


# --------------------------------------------------------------------------- monitoring schedule


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


# --------------------------------------------------------------------------- groups


async def group(session: AsyncSession, plan: Plan, kind: str, name: str = "") -> PlanGroup:
    """The group of this kind and name (the monitoring group has no name), created on first use."""
    if kind not in GROUP_KINDS:
        raise PlanError("bad_group")
    name = _clean(name, 200) if kind == "initiative" else ""
    table = PlanGroup.__table__
    await session.execute(db.insert(session, table).values(plan_id=plan.id, kind=kind, name=name, created_at=utcnow())
                          .on_conflict_do_nothing(index_elements=["plan_id", "kind", "name"]))
    found = await session.scalar(select(PlanGroup).where(PlanGroup.plan_id == plan.id, PlanGroup.kind == kind,
                                                         PlanGroup.name == name))
    assert found is not None
    return found


async def groups_of(session: AsyncSession, plan_id: int) -> list[PlanGroup]:
    query = select(PlanGroup).where(PlanGroup.plan_id == plan_id).order_by(PlanGroup.kind.desc(), PlanGroup.name)
    return list((await session.scalars(query)).all())


async def monitoring_group(session: AsyncSession, plan_id: int) -> PlanGroup | None:
    return await session.scalar(select(PlanGroup).where(PlanGroup.plan_id == plan_id,
                                                        PlanGroup.kind == "monitoring"))


def set_mandate(grp: PlanGroup, reference: str, on: date | None = None) -> None:
    """The order of the aiyl okmotu head that names the group (contractors ask for it)."""
    reference = _clean(reference, 200)
    if not reference:
        raise PlanError("empty_mandate")
    grp.mandate_ref = reference
    grp.mandate_on = on


async def villager_of(session: AsyncSession, plan: Plan, *, telegram_id: int | None = None,
                      phone_hash: str | None = None) -> Person:
    """A registered villager of the plan's aiyl aimak, found by Telegram id or phone hash."""
    if telegram_id is not None:
        person = await session.scalar(select(Person).where(Person.telegram_id == telegram_id))
    elif phone_hash is not None:
        person = await session.scalar(select(Person).where(Person.phone_hash == phone_hash))
    else:
        person = None
    if person is None or not person.is_registered:
        raise PlanError("not_registered")
    if person.aiyl_aimak_id != plan.aiyl_aimak_id:
        raise PlanError("other_aiyl_aimak")
    return person


async def add_member(session: AsyncSession, grp: PlanGroup, person: Person, *, by: int | None) -> bool:
    """Add a registered villager of the plan's aiyl aimak; False when already a member."""
    plan = await session.get(Plan, grp.plan_id)
    assert plan is not None
    if not person.is_registered:
        raise PlanError("not_registered")
    if person.aiyl_aimak_id != plan.aiyl_aimak_id:
        raise PlanError("other_aiyl_aimak")
    table = PlanGroupMember.__table__
    result = await session.execute(
        db.insert(session, table).values(group_id=grp.id, person_id=person.id, added_by=by, added_at=utcnow())
        .on_conflict_do_nothing(index_elements=["group_id", "person_id"]).returning(table.c.person_id))
    added = result.first() is not None
    if added:
        audit(session, by, "plan.group.add", "plan_group", grp.id, person_id=person.id)
    return added


async def remove_member(session: AsyncSession, grp: PlanGroup, person_id: int, *, by: int | None) -> bool:
    result = await session.execute(delete(PlanGroupMember).where(PlanGroupMember.group_id == grp.id,
                                                                 PlanGroupMember.person_id == person_id))
    if result.rowcount:
        audit(session, by, "plan.group.remove", "plan_group", grp.id, person_id=person_id)
    return bool(result.rowcount)


async def members_of(session: AsyncSession, group_id: int) -> list[Person]:
    query = (select(Person).join(PlanGroupMember, PlanGroupMember.person_id == Person.id)
             .where(PlanGroupMember.group_id == group_id).order_by(Person.id))
    return list((await session.scalars(query)).unique().all())


async def is_monitor(session: AsyncSession, plan_id: int, person_id: int) -> bool:
    query = (select(PlanGroupMember.person_id).join(PlanGroup, PlanGroup.id == PlanGroupMember.group_id)
             .where(PlanGroup.plan_id == plan_id, PlanGroup.kind == "monitoring",
                    PlanGroupMember.person_id == person_id))
    return await session.scalar(query) is not None


@dataclass(frozen=True)
class Composition:
    """Who is in a group: counts by sex, age group and village, and the minority-sex advice."""

    members: int
    women: int
    men: int
    sex_not_given: int
    by_band: dict[str | None, int]
    by_village: dict[int | None, int]

    @property
    def women_share(self) -> float | None:
        return self.women / self.members if self.members else None

    @property
    def minority_share(self) -> float | None:
        """The smaller sex's share of all members (those who did not say count as neither)."""
        return min(self.women, self.men) / self.members if self.members else None

    @property
    def balanced(self) -> bool:
        """The method's advice: the minority sex is at least 30 % of the group."""
        share = self.minority_share
        return share is not None and share >= MIN_MINORITY_SHARE

    @property
    def minority_sex(self) -> str:
        return "f" if self.women <= self.men else "m"


def composition(people: Sequence[Person]) -> Composition:
    sexes = Counter(p.sex for p in people)
    return Composition(
        members=len(people), women=sexes.get("f", 0), men=sexes.get("m", 0),
        sex_not_given=sum(n for s, n in sexes.items() if s not in ("f", "m")),
        by_band=dict(Counter(p.age_band for p in people)), by_village=dict(Counter(p.village_id for p in people)),
    )


# --------------------------------------------------------------------------- monitoring answers


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


# --------------------------------------------------------------------------- people to tell


async def organiser_ids(session: AsyncSession, aiyl_aimak_id: int) -> list[int]:
    """Telegram ids of the organisers of an aiyl aimak."""
    query = (select(RoleGrant.telegram_id).where(RoleGrant.role == Role.ORGANISER, RoleGrant.scope == aiyl_aimak_id)
             .order_by(RoleGrant.telegram_id))
    return list((await session.scalars(query)).all())


async def follow(session: AsyncSession, plan: Plan, person: Person) -> bool:
    """Follow a plan (of the person's own aiyl aimak); False when already following."""
    if not person.is_registered or person.aiyl_aimak_id != plan.aiyl_aimak_id:
        raise PlanError("other_aiyl_aimak")
    table = PlanFollower.__table__
    result = await session.execute(db.insert(session, table).values(plan_id=plan.id, person_id=person.id,
                                                                  followed_at=utcnow())
                                   .on_conflict_do_nothing(index_elements=["plan_id", "person_id"])
                                   .returning(table.c.person_id))
    return result.first() is not None


async def unfollow(session: AsyncSession, plan_id: int, person_id: int) -> bool:
    result = await session.execute(delete(PlanFollower).where(PlanFollower.plan_id == plan_id,
                                                              PlanFollower.person_id == person_id))
    return bool(result.rowcount)


async def is_following(session: AsyncSession, plan_id: int, person_id: int) -> bool:
    return await session.scalar(select(PlanFollower.person_id).where(PlanFollower.plan_id == plan_id,
                                                                     PlanFollower.person_id == person_id)) is not None


async def followers(session: AsyncSession, plan_id: int) -> list[Person]:
    query = (select(Person).join(PlanFollower, PlanFollower.person_id == Person.id)
             .where(PlanFollower.plan_id == plan_id, Person.forgotten_at.is_(None), Person.telegram_id.is_not(None))
             .order_by(Person.id))
    return list((await session.scalars(query)).unique().all())


async def villagers_of(session: AsyncSession, aiyl_aimak_id: int) -> list[Person]:
    """Registered, reachable villagers of an aiyl aimak."""
    query = (select(Person).where(Person.aiyl_aimak_id == aiyl_aimak_id, Person.registered_at.is_not(None),
                                  Person.forgotten_at.is_(None), Person.telegram_id.is_not(None),
                                  Person.unreachable_at.is_(None)).order_by(Person.id))
    return list((await session.scalars(query)).unique().all())


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


# --------------------------------------------------------------------------- satisfaction surveys


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


async def villages_of(session: AsyncSession, aiyl_aimak_id: int) -> list[Village]:
    query = select(Village).where(Village.aiyl_aimak_id == aiyl_aimak_id).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())
