"""Initiative groups and the monitoring group: members, the mandate and the composition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.plan.common import GROUP_KINDS, MIN_MINORITY_SHARE, PlanError, _clean
from storage import db
from storage.models import Person, utcnow
from storage.plan import Plan, PlanGroup, PlanGroupMember


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
