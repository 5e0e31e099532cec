"""Filters shared by the routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from services.roles import Role, Roles


class HasRole(Filter):
    """Passes when the person holds the role; others fall through to a polite refusal."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, roles: Roles | None = None) -> bool:
        return roles is not None and roles.has(self.role)
