"""What the admin routers and other flows share: finding a person by phone number or Telegram id, the
grant notice."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.commands import set_personal_menu
from bot.settings import Settings
from handlers.admin.views import ROLE_WORDS
from services import helpdesk
from services import roles as role_service
from services.people import person_by_phone, person_by_telegram_id
from services.phone import InvalidPhone, normalize_phone
from services.places import find_aiyl_aimak
from services.roles import Role
from storage.models import AiylAimak


class UsageError(ValueError):
    pass


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
    await delivery.send(bot, person, text_of, i18n=i18n, what="a role change")
    asks = (await helpdesk.may_ask(session, person, helpdesk.HelpdeskConfig.from_settings(settings))).allowed
    await set_personal_menu(bot, i18n, telegram_id, person.language, roles, may_ask=asks)
