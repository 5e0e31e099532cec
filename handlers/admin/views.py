"""Admin texts: role names and scopes, shares of registrations."""

from __future__ import annotations

from urllib.parse import quote

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_percent

from bot.keyboards import InlineKeyboardBuilder
from bot.text import escape
from handlers.admin.buttons import LinksCB
from services.places import place_name
from services.roles import Role
from storage.models import AiylAimak

ROLE_WORDS = {"organiser": Role.ORGANISER, "organizer": Role.ORGANISER, "representative": Role.REPRESENTATIVE,
              "lawyer": Role.LAWYER, "admin": Role.ADMIN}


def role_label(role: Role) -> str:
    return {Role.ORGANISER: _("organiser"), Role.REPRESENTATIVE: _("village representative"), Role.LAWYER: _("lawyer"),
            Role.ADMIN: _("administrator")}[role]


def scope_text(role: Role, aimak: AiylAimak | None, language: str) -> str:
    label = role_label(role)
    return f"{label} ({place_name(aimak, language)})" if aimak is not None else label




def share(part: int, whole: int, language: str) -> str:
    return format_percent(part / whole, locale=language) if whole else "—"


def links_keyboard(aimak_ids: list[int]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for aimak_id in aimak_ids[:4]:
        builder.button(text=_("🔗 Village links"), callback_data=LinksCB(action="links", aimak=aimak_id))
        builder.button(text=_("🖨 Posters (PDF)"), callback_data=LinksCB(action="posters", aimak=aimak_id))
    builder.adjust(2)
    return builder.as_markup()


def links_text(rows: list[tuple[str, str]]) -> str:
    lines = [_("<b>Village links</b>: a newcomer who opens one registers straight into that village. Share each "
               "in the village's group chats, or print the posters.")]
    lines += [f"• {escape(name)}: {link}" for name, link in rows]
    return "\n".join(lines)


def share_keyboard(rows: list[tuple[str, str]], aimak_id: int) -> InlineKeyboardMarkup:
    """One tap shares a village's link (Telegram's share sheet: pick the village's group chat)."""
    builder = InlineKeyboardBuilder()
    invitation = _("Join our village in Jamaat: votes, meetings and answers from the aiyl okmotu.")
    for name, link in rows[:40]:
        builder.button(text=_("📤 Share: {village}").format(village=name),
                       url=f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(invitation, safe='')}")
    builder.button(text=_("🖨 Posters (PDF)"), callback_data=LinksCB(action="posters", aimak=aimak_id))
    builder.adjust(1)
    return builder.as_markup()
