"""Roles beyond villager: organiser and village representative (per aiyl aimak), lawyer, admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from storage.models import RoleGrant


class Role(StrEnum):
    ORGANISER = "organiser"
    # A trusted person of a village who registers neighbours without a smartphone and votes or answers for
    # them (assisted participation); sees nothing else of the aiyl aimak.
    REPRESENTATIVE = "representative"
    LAWYER = "lawyer"
    ADMIN = "admin"


SCOPED = (Role.ORGANISER, Role.REPRESENTATIVE)  # roles for one aiyl aimak


class RoleError(ValueError):
    pass


@dataclass(frozen=True)
class Roles:
    """What one person may do. Everyone is a villager; the rest comes from grants or settings."""

    telegram_id: int
    organiser_of: frozenset[int] = field(default_factory=frozenset)
    representative_of: frozenset[int] = field(default_factory=frozenset)
    lawyer: bool = False
    admin: bool = False

    @property
    def organiser(self) -> bool:
        return bool(self.organiser_of)

    def may_organise(self, aiyl_aimak_id: int | None) -> bool:
        """Organisers see and manage only their own aiyl aimaks."""
        return aiyl_aimak_id is not None and aiyl_aimak_id in self.organiser_of

    def may_assist(self, aiyl_aimak_id: int | None) -> bool:
        """Who may register a villager without a smartphone and act for them: the aiyl aimak's organisers and
        village representatives."""
        return aiyl_aimak_id is not None and (aiyl_aimak_id in self.organiser_of
                                              or aiyl_aimak_id in self.representative_of)

    @property
    def assists_in(self) -> frozenset[int]:
        return self.organiser_of | self.representative_of

    def has(self, role: Role) -> bool:
        # An organiser may do what a village representative does (assist villagers without a smartphone).
        return {Role.ORGANISER: self.organiser, Role.REPRESENTATIVE: bool(self.assists_in),
                Role.LAWYER: self.lawyer, Role.ADMIN: self.admin}[role]


async def roles_of(session: AsyncSession, telegram_id: int, settings_admins: frozenset[int] = frozenset()) -> Roles:
    grants = (await session.execute(select(RoleGrant.role, RoleGrant.scope)
                                    .where(RoleGrant.telegram_id == telegram_id))).all()
    return roles_from(telegram_id, [(role, scope) for role, scope in grants], settings_admins)


def roles_from(telegram_id: int, grants: list[tuple[str, int]], settings_admins: frozenset[int] = frozenset()) -> Roles:
    """Roles from (role, scope) grants."""
    return Roles(
        telegram_id=telegram_id,
        organiser_of=frozenset(scope for role, scope in grants if role == Role.ORGANISER),
        representative_of=frozenset(scope for role, scope in grants if role == Role.REPRESENTATIVE),
        lawyer=any(role == Role.LAWYER for role, _ in grants),
        admin=telegram_id in settings_admins or any(role == Role.ADMIN for role, _ in grants),
    )


def _scope(role: Role, aiyl_aimak_id: int | None) -> int:
    if role in SCOPED:
        if aiyl_aimak_id is None:
            raise RoleError(f"an {role.value} works for an aiyl aimak" if role is Role.ORGANISER
                            else f"a {role.value} works for an aiyl aimak")
        return aiyl_aimak_id
    return 0


async def grant(
    session: AsyncSession, telegram_id: int, role: Role, aiyl_aimak_id: int | None = None, *, by: int | None = None
) -> bool:
    """Grant a role; False when the person already had it."""
    scope = _scope(role, aiyl_aimak_id)
    existing = await session.scalar(
        select(RoleGrant).where(RoleGrant.telegram_id == telegram_id, RoleGrant.role == role, RoleGrant.scope == scope)
    )
    if existing is not None:
        return False
    session.add(RoleGrant(telegram_id=telegram_id, role=role, scope=scope, granted_by=by))
    audit(session, by, "role.grant", "telegram_user", telegram_id, role=role.value, scope=scope)
    await session.flush()
    return True


async def revoke(
    session: AsyncSession, telegram_id: int, role: Role, aiyl_aimak_id: int | None = None, *, by: int | None = None
) -> bool:
    """Take a role away; False when the person did not have it."""
    query = delete(RoleGrant).where(RoleGrant.telegram_id == telegram_id, RoleGrant.role == role)
    if role in SCOPED and aiyl_aimak_id is not None:
        query = query.where(RoleGrant.scope == aiyl_aimak_id)
    removed = (await session.execute(query)).rowcount
    if removed:
        audit(session, by, "role.revoke", "telegram_user", telegram_id, role=role.value, scope=aiyl_aimak_id or 0)
    return bool(removed)


async def grants_of(session: AsyncSession, telegram_id: int) -> list[RoleGrant]:
    query = select(RoleGrant).where(RoleGrant.telegram_id == telegram_id).order_by(RoleGrant.role, RoleGrant.scope)
    return list((await session.scalars(query)).all())
