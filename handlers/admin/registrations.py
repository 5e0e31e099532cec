"""Organisers: /people, registrations by village."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from handlers.admin import views
from handlers.admin.buttons import LinksCB
from handlers.admin.views import share
from services.people import registrations_by_village
from services.places import ensure_link_code, list_villages, place_name, village_links
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
    await message.answer("\n\n".join(blocks) or _("No aiyl aimak is assigned to you yet."),
                         reply_markup=views.links_keyboard(sorted(roles.organiser_of)) if blocks else None)


async def bot_username(bot: Bot, settings: Settings) -> str:
    return (settings.bot_username or (await bot.me()).username or "").lstrip("@")


@router.callback_query(LinksCB.filter(F.action == "links"))
async def on_links(query: CallbackQuery, message: Message, callback_data: LinksCB, session: AsyncSession,
                   roles: Roles, bot: Bot, settings: Settings, i18n: I18n) -> None:
    """Each village's link, with a button that shares it (to the village's group chats) in one tap."""
    if not roles.may_organise(callback_data.aimak):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    username = await bot_username(bot, settings)
    language = i18n.current_locale
    rows = []
    for village in await list_villages(session, callback_data.aimak):
        link = village_links(await ensure_link_code(session, village), bot_username=username).telegram
        assert link is not None
        rows.append((place_name(village, language), link))
    await message.answer(views.links_text(rows), reply_markup=views.share_keyboard(rows, callback_data.aimak),
                         disable_web_page_preview=True)


@router.callback_query(LinksCB.filter(F.action == "posters"))
async def on_posters(query: CallbackQuery, message: Message, callback_data: LinksCB, session: AsyncSession,
                     roles: Roles, bot: Bot, settings: Settings, i18n: I18n) -> None:
    """A printable A4 poster (PDF) per village of the aiyl aimak, with the QR code of its link."""
    if not roles.may_organise(callback_data.aimak):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    from bot.posters import poster_for  # loaded on first use, not at start-up
    from services.posters import poster_places, render

    await query.answer(_("Drawing the posters…"))
    username = await bot_username(bot, settings)
    for place in await poster_places(session, bot_username=username, aiyl_aimak_id=callback_data.aimak):
        poster = poster_for(place, i18n)
        data = await asyncio.to_thread(render, poster, "pdf")
        await message.answer_document(BufferedInputFile(data, f"{place.village.code}.pdf"),
                                      caption=f"{place_name(place.village, i18n.current_locale)}: {place.link}")
