"""People to tell: the aiyl aimak's organisers, a plan's followers, its villagers and villages (as lists, or as
conditions on ``Person`` for set-based queuing with ``outbox.enqueue_to_people``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.plan.common import PlanError
from services.roles import Role
from storage import db
from storage.models import Person, RoleGrant, Village, utcnow
from storage.plan import Plan, PlanFollower


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


def follower_condition(plan_id: int) -> Any:
    """A plan's followers who can be written to, as a condition on ``Person``."""
    return and_(Person.id.in_(select(PlanFollower.person_id).where(PlanFollower.plan_id == plan_id)),
                Person.forgotten_at.is_(None), Person.telegram_id.is_not(None))


async def followers(session: AsyncSession, plan_id: int) -> list[Person]:
    query = select(Person).where(follower_condition(plan_id)).order_by(Person.id)
    return list((await session.scalars(query)).unique().all())


def villager_condition(aiyl_aimak_id: int) -> Any:
    """Registered, reachable villagers of an aiyl aimak, as a condition on ``Person``."""
    return and_(Person.aiyl_aimak_id == aiyl_aimak_id, Person.registered_at.is_not(None),
                Person.forgotten_at.is_(None), Person.telegram_id.is_not(None), Person.unreachable_at.is_(None))


async def villagers_of(session: AsyncSession, aiyl_aimak_id: int) -> list[Person]:
    """Registered, reachable villagers of an aiyl aimak."""
    query = select(Person).where(villager_condition(aiyl_aimak_id)).order_by(Person.id)
    return list((await session.scalars(query)).unique().all())


async def villages_of(session: AsyncSession, aiyl_aimak_id: int) -> list[Village]:
    query = select(Village).where(Village.aiyl_aimak_id == aiyl_aimak_id).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())
