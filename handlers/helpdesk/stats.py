"""Admins: /stats (the month's figures, as text and a file) and /member (a lawyer's membership)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.admin.common import UsageError, resolve_person
from handlers.helpdesk import views
from handlers.helpdesk.buttons import StatsCB
from handlers.helpdesk.common import refuse
from handlers.helpdesk.views import config_of, stats_text, topic_labels
from services import helpdesk as desk
from services.places import find_aiyl_aimak, place_name
from services.roles import Role, Roles

router = Routes("helpdesk_stats")


@router.message(Command("stats"), HasRole(Role.ADMIN))
async def on_stats(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                   i18n: I18n) -> None:
    from services import helpdesk_stats as stats_service  # loaded on first use, not at start-up

    try:
        start, end, label = stats_service.month_bounds((command.args or "").strip() or None, settings.zone)
    except ValueError:
        await message.answer(_("Please write it like this: <code>/stats 2026-11</code> (or just /stats for this "
                               "month)."))
        return
    stats = await stats_service.compute(session, start, end, config_of(settings), datetime.now(UTC))
    await message.answer(stats_text(stats, i18n.current_locale, settings, label),
                         reply_markup=views.stats_keyboard(label))
    if stats.asked:
        png = stats_service.chart_png(stats, topic_labels(), views.topic_chart_caption(label))
        await message.answer_photo(BufferedInputFile(png, f"helpdesk-{label}.png"))


@router.callback_query(StatsCB.filter())
async def on_stats_file(query: CallbackQuery, message: Message, callback_data: StatsCB, session: AsyncSession,
                        roles: Roles | None, settings: Settings) -> None:
    if roles is None or not roles.admin or callback_data.fmt not in ("csv", "xlsx"):
        await refuse(query, "stats file for a non-admin")
        return
    from services import helpdesk_stats as stats_service  # loaded on first use, not at start-up

    try:
        start, end, label = stats_service.month_bounds(callback_data.month, settings.zone)
    except ValueError:
        await refuse(query, "bad month")
        return
    stats = await stats_service.compute(session, start, end, config_of(settings), datetime.now(UTC))
    data = stats_service.to_csv(stats) if callback_data.fmt == "csv" else stats_service.to_xlsx(stats)
    await query.answer()
    await message.answer_document(BufferedInputFile(data, f"helpdesk-{label}.{callback_data.fmt}"))


@router.message(Command("member"), HasRole(Role.ADMIN))
async def on_member(message: Message, command: CommandObject, session: AsyncSession, settings: Settings,
                    i18n: I18n) -> None:
    """/member PERSON staff|deputy AIYL_AIMAK, /member remove PERSON, /member (the list)."""
    assert message.from_user is not None
    words = (command.args or "").split()
    usage = _("Please write it like this:\n<code>/member 123456789 staff kok-irim</code> (staff or deputy of a "
              "member municipality)\n<code>/member remove 123456789</code>\n<code>/member</code>: the list")
    try:
        if not words:
            members = await desk.list_members(session)
            lines = [_("<b>Who may ask the legal helpdesk</b>")]
            for member in members:
                lines.append(f"• {member.telegram_id}: {member.capacity}, "
                             f"{escape(place_name(member.aiyl_aimak, i18n.current_locale))}")
            if not members:
                lines.append(_("Nobody yet."))
            await message.answer("\n".join(lines))
            return
        if words[0].lower() == "remove" and len(words) == 2:
            telegram_id = await resolve_person(session, settings, words[1])
            removed = await desk.remove_member(session, telegram_id, by=message.from_user.id)
            await message.answer(_("Done: {person} may no longer ask the helpdesk.").format(person=telegram_id)
                                 if removed else _("{person} was not on the list.").format(person=telegram_id))
            return
        if len(words) != 3 or words[1].lower() not in desk.CAPACITIES:
            raise UsageError(command.args or "")
        telegram_id = await resolve_person(session, settings, words[0])
        aimak = await find_aiyl_aimak(session, words[2].lower())
        if aimak is None:
            raise UsageError(words[2])
        await desk.add_member(session, telegram_id, aimak.id, words[1].lower(), by=message.from_user.id)
    except UsageError:
        await message.answer(usage)
        return
    await message.answer(_("Done: {person} may ask the legal helpdesk for {place}.").format(
        person=telegram_id, place=place_name(aimak, i18n.current_locale)))
