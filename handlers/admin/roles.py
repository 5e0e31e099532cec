"""Admins: /grant, /revoke and /roles."""

from __future__ import annotations

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
    assert message.from_user is not None
    try:
        role, telegram_id, aimak = await parse(session, settings, command.args)
        added = await role_service.grant(session, telegram_id, role, aimak.id if aimak else None,
                                         by=message.from_user.id)
    except (UsageError, RoleError):
        await usage(message, "grant")
        return
    what = scope_text(role, aimak, i18n.current_locale)
    if not added:
        await message.answer(_("{person} already has the role {role}.").format(person=telegram_id, role=what))
        return
    await message.answer(_("Done: {person} is now {role}.").format(person=telegram_id, role=what))
    await tell_grantee(bot, i18n, session, settings, telegram_id, lambda: _(
        "You have been given the role {role}. Send /help to see what you can do."
    ).format(role=scope_text(role, aimak, i18n.current_locale)))


@router.message(Command("revoke"))
async def on_revoke(message: Message, command: CommandObject, session: AsyncSession, settings: Settings, bot: Bot,
                    i18n: I18n) -> None:
    assert message.from_user is not None
    try:
        role, telegram_id, aimak = await parse(session, settings, command.args)
    except UsageError:
        await usage(message, "revoke")
        return
    what = scope_text(role, aimak, i18n.current_locale)
    removed = await role_service.revoke(session, telegram_id, role, aimak.id if aimak else None,
                                        by=message.from_user.id)
    if not removed:
        await message.answer(_("{person} does not have the role {role}.").format(person=telegram_id, role=what))
        return
    await message.answer(_("Done: {person} no longer has the role {role}.").format(person=telegram_id, role=what))
    await tell_grantee(bot, i18n, session, settings, telegram_id, lambda: _(
        "Your role {role} has been taken away."
    ).format(role=scope_text(role, aimak, i18n.current_locale)))


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
