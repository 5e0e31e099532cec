"""Admins grant and revoke roles in chat: /grant, /revoke, /roles."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_personal_menu
from bot.filters import HasRole
from bot.i18n import in_language
from bot.routes import Routes
from bot.settings import Settings
from services import roles as role_service
from services.people import person_by_phone, person_by_telegram_id
from services.phone import InvalidPhone, normalize_phone
from services.places import find_aiyl_aimak, place_name
from services.roles import Role, RoleError
from storage.models import AiylAimak

log = logging.getLogger(__name__)
router = Routes("admin")
router.message.filter(HasRole(Role.ADMIN))

ROLE_WORDS = {"organiser": Role.ORGANISER, "organizer": Role.ORGANISER, "lawyer": Role.LAWYER, "admin": Role.ADMIN}


class UsageError(ValueError):
    pass


def role_label(role: Role) -> str:
    return {Role.ORGANISER: _("organiser"), Role.LAWYER: _("lawyer"), Role.ADMIN: _("administrator")}[role]


async def resolve_person(session: AsyncSession, settings: Settings, word: str) -> int:
    """A Telegram id, or the phone number of a registered person."""
    assert settings.phone_hash_key is not None
    try:
        normalize_phone(word)
        person = await person_by_phone(session, settings.phone_hash_key.get_secret_value(), word)
    except InvalidPhone:
        person = None
    if person is not None and person.telegram_id is not None:
        return person.telegram_id
    if word.isdigit():
        return int(word)
    raise UsageError(word)


async def parse(session: AsyncSession, settings: Settings, args: str | None) -> tuple[Role, int, AiylAimak | None]:
    words = (args or "").split()
    if len(words) not in (2, 3) or words[0].lower() not in ROLE_WORDS:
        raise UsageError(args or "")
    role = ROLE_WORDS[words[0].lower()]
    telegram_id = await resolve_person(session, settings, words[1])
    aimak = None
    if len(words) == 3:
        aimak = await find_aiyl_aimak(session, words[2].lower())
        if aimak is None:
            raise UsageError(words[2])
    return role, telegram_id, aimak


async def usage(message: Message, command: str) -> None:
    await message.answer(
        _("Please write it like this:\n<code>/{command} organiser 123456789 kok-irim</code>\n"
          "Roles: organiser (with the code of an aiyl aimak), lawyer, admin. The person is a Telegram id or the "
          "phone number of a registered person.").format(command=command)
    )


async def tell_grantee(bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings, telegram_id: int,
                       text_of: Callable[[], str]) -> None:
    """Tell the person, in their own language, and refresh their command menu."""
    person = await person_by_telegram_id(session, telegram_id)
    if person is None or person.language is None:
        return
    roles = await role_service.roles_of(session, telegram_id, frozenset(settings.admin_ids))
    with in_language(i18n, person.language):
        text = text_of()
    try:
        await bot.send_message(telegram_id, text)
    except TelegramAPIError as exc:
        log.warning("could not tell %s about a role change: %s", telegram_id, exc)
    await set_personal_menu(bot, i18n, telegram_id, person.language, roles)


def scope_text(role: Role, aimak: AiylAimak | None, language: str) -> str:
    label = role_label(role)
    return f"{label} ({place_name(aimak, language)})" if aimak is not None else label


@router.message(Command("grant"))
async def on_grant(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                   bot: Bot, i18n: I18n) -> None:
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
async def on_revoke(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                    bot: Bot, i18n: I18n) -> None:
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
