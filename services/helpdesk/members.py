"""Who may ask: member municipalities' staff and deputies, lawyers and admins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.helpdesk.common import CAPACITIES, HelpdeskError
from services.helpdesk.hours import HelpdeskConfig
from storage import direct
from storage.direct import Direct
from storage.helpdesk import HelpdeskMember
from storage.models import Person, RoleGrant


@dataclass(frozen=True)
class AskerCheck:
    allowed: bool
    reason: str = ""  # not_registered | not_member
    aiyl_aimak_id: int | None = None


async def member_of(session: AsyncSession, telegram_id: int) -> HelpdeskMember | None:
    return await session.scalar(select(HelpdeskMember).where(HelpdeskMember.telegram_id == telegram_id))


# Only the member's aiyl aimak, straight on the driver (``storage.direct``): every registration's last step asks
# (the main keyboard offers "ask" only to those who may), and the member's ORM object came with its aiyl aimak,
# region and district joined.
_MEMBER_AIMAK = Direct(select(HelpdeskMember.__table__.c.aiyl_aimak_id)
                       .where(HelpdeskMember.__table__.c.telegram_id == bindparam("telegram_id")))


async def may_ask(session: AsyncSession, person: Person | None, config: HelpdeskConfig) -> AskerCheck:
    if person is None or not person.is_registered or person.telegram_id is None:
        return AskerCheck(False, "not_registered")
    member = await direct.rows(session, _MEMBER_AIMAK, {"telegram_id": person.telegram_id})
    if member:
        return AskerCheck(True, aiyl_aimak_id=member[0][0])
    if config.askers == "registered":
        return AskerCheck(True, aiyl_aimak_id=person.aiyl_aimak_id)
    return AskerCheck(False, "not_member")


async def add_member(session: AsyncSession, telegram_id: int, aiyl_aimak_id: int, capacity: str,
                     *, by: int | None = None) -> bool:
    """List a member's staff or deputy; False when the entry existed and is now updated."""
    if capacity not in CAPACITIES:
        raise HelpdeskError("capacity")
    member = await member_of(session, telegram_id)
    created = member is None
    if member is None:
        member = HelpdeskMember(telegram_id=telegram_id, aiyl_aimak_id=aiyl_aimak_id, capacity=capacity, granted_by=by)
        session.add(member)
    else:
        member.aiyl_aimak_id, member.capacity, member.granted_by = aiyl_aimak_id, capacity, by
    audit(session, by, "helpdesk.member.add", "telegram_user", telegram_id, aiyl_aimak_id=aiyl_aimak_id,
          capacity=capacity)
    await session.flush()
    return created


async def remove_member(session: AsyncSession, telegram_id: int, *, by: int | None = None) -> bool:
    removed = (await session.execute(delete(HelpdeskMember).where(HelpdeskMember.telegram_id == telegram_id))).rowcount
    if removed:
        audit(session, by, "helpdesk.member.remove", "telegram_user", telegram_id)
    return bool(removed)


async def list_members(session: AsyncSession) -> list[HelpdeskMember]:
    return list((await session.scalars(select(HelpdeskMember).order_by(HelpdeskMember.aiyl_aimak_id,
                                                                        HelpdeskMember.telegram_id))).all())


async def lawyer_ids(session: AsyncSession) -> list[int]:
    query = select(RoleGrant.telegram_id).where(RoleGrant.role == "lawyer").distinct().order_by(RoleGrant.telegram_id)
    return list((await session.scalars(query)).all())


async def admin_ids(session: AsyncSession, settings_admins: Iterable[int]) -> list[int]:
    granted = set((await session.scalars(select(RoleGrant.telegram_id).where(RoleGrant.role == "admin"))).all())
    return sorted(granted | set(settings_admins))
