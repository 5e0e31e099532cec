"""Admins: /grant, /revoke and /roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from handlers.admin.common import UsageError, parse, resolve_person, tell_grantee, usage
from handlers.admin.views import scope_text
from services import roles as role_service
from services.roles import Role, RoleError
from storage.models import AiylAimak

router = Routes("admin_roles")
router.message.filter(HasRole(Role.ADMIN))


@router.message(Command("grant"))
async def on_grant(message: Message, command: CommandObject, session: AsyncSession, settings: Settings, bot: Bot,
                   i18n: I18n) -> None:
    await _change_role(message, command, session, settings, bot, i18n, "grant", role_service.grant,
                       unchanged=_("{person} already has the role {role}."),
                       done=_("Done: {person} is now {role}."),
                       notice=lambda: _("You have been given the role {role}. Send /help to see what you can do."))


@router.message(Command("revoke"))
async def on_revoke(message: Message, command: CommandObject, session: AsyncSession, settings: Settings, bot: Bot,
                    i18n: I18n) -> None:
    await _change_role(message, command, session, settings, bot, i18n, "revoke", role_service.revoke,
                       unchanged=_("{person} does not have the role {role}."),
                       done=_("Done: {person} no longer has the role {role}."),
                       notice=lambda: _("Your role {role} has been taken away."))


async def _change_role(message: Message, command: CommandObject, session: AsyncSession, settings: Settings, bot: Bot,
                       i18n: I18n, name: str, change: Callable[..., Awaitable[bool]], *, unchanged: str, done: str,
                       notice: Callable[[], str]) -> None:
    """/grant and /revoke: read the role, person and aiyl aimak, change the role (``change``: the service,
    False when there was nothing to change), answer the admin and tell the person in their own language."""
    assert message.from_user is not None
    try:
        role, telegram_id, aimak = await parse(session, settings, command.args)
        changed = await change(session, telegram_id, role, aimak.id if aimak else None, by=message.from_user.id)
    except (UsageError, RoleError):
        await usage(message, name)
        return
    what = scope_text(role, aimak, i18n.current_locale)
    if not changed:
        await message.answer(unchanged.format(person=telegram_id, role=what))
        return
    await message.answer(done.format(person=telegram_id, role=what))
    await tell_grantee(bot, i18n, session, settings, telegram_id, lambda: notice().format(
        role=scope_text(role, aimak, i18n.current_locale)))


@router.message(Command("roles"))
async def on_roles(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                   i18n: I18n) -> None:
    try:
        telegram_id = await resolve_person(session, settings, (command.args or "").strip())
    except UsageError:
        await message.answer(_("Please write it like this:\n<code>/roles 123456789</code>"))
        return
    grants = await role_service.grants_of(session, telegram_id)
    lines = []
    for grant in grants:
        aimak = await session.get(AiylAimak, grant.scope) if grant.scope else None
        lines.append("• " + scope_text(Role(grant.role), aimak, i18n.current_locale))
    if telegram_id in settings.admin_ids:
        lines.append("• " + _("administrator (from the settings)"))
    if not lines:
        await message.answer(_("{person} has no roles: a villager.").format(person=telegram_id))
        return
    await message.answer(_("Roles of {person}:").format(person=telegram_id) + "\n" + "\n".join(lines))
