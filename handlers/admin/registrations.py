"""Organisers: /people, registrations by village."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from handlers.admin.views import share
from services.people import registrations_by_village
from services.places import place_name
from services.roles import Role, Roles
from storage.models import AiylAimak, Village

router = Routes("admin_registrations")
router.message.filter(HasRole(Role.ORGANISER))


@router.message(Command("people"))
async def on_people(message: Message, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    language = i18n.current_locale
    blocks = []
    for aimak_id in sorted(roles.organiser_of):
        aimak = await session.get(AiylAimak, aimak_id)
        if aimak is None:
            continue
        counts = await registrations_by_village(session, aimak_id)
        total = sum(c.registered for c in counts)
        women = sum(c.women for c in counts)
        lines = [_("<b>{aimak}</b>: {count} registered, of them women {women} ({share})").format(
            aimak=place_name(aimak, language), count=format_decimal(total, locale=language),
            women=format_decimal(women, locale=language), share=share(women, total, language))]
        for count in counts:
            village = await session.get(Village, count.village_id)
            assert village is not None
            lines.append(_("• {village}: {count}, women {women} ({share})").format(
                village=place_name(village, language), count=format_decimal(count.registered, locale=language),
                women=format_decimal(count.women, locale=language), share=share(count.women, count.registered,
                                                                                 language)))
        blocks.append("\n".join(lines))
    await message.answer("\n\n".join(blocks) or _("No aiyl aimak is assigned to you yet."))
