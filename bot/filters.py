"""Filters shared by the routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from services.roles import Role, Roles


class HasRole(Filter):
    """Passes when the person holds the role; others fall through to a polite refusal."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, roles: Roles | None = None) -> bool:
        return roles is not None and roles.has(self.role)


class ButtonMessage(Filter):
    """A button's message, for handlers that take ``message: Message``: passes it in, and passes the update on
    when the message is no longer accessible (too old, or deleted), so the fallback answers the stale button.
    ``bot.routes.Routes`` adds it to every callback-query handler that takes ``message``."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Message]:
        return {"message": query.message} if isinstance(query.message, Message) else False
