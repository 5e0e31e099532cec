"""/dashboard: a one-time sign-in link to the web dashboard, for organisers, lawyers and admins."""

from __future__ import annotations

from html import escape

from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, WebAppInfo
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard import link_url, public_url
from bot.routes import Routes
from bot.settings import Settings
from services import dashboard as dash
from services.roles import Roles

router = Routes("dashboard")


@router.message(Command("dashboard"))
async def on_dashboard(message: Message, session: AsyncSession, roles: Roles | None, settings: Settings) -> None:
    assert message.from_user is not None
    if not dash.may_use_dashboard(roles):
        await message.answer(_("Sorry, the dashboard is only for organisers, lawyers and administrators. If you need "
                               "it for your work, please ask the administrator of Jamaat."))
        return
    minutes = settings.dashboard_link_minutes
    token = await dash.issue_link(session, message.from_user.id, minutes=minutes)
    base = public_url(settings)
    link = link_url(base, token)
    markup = None
    if base.startswith("https://"):  # Telegram opens Web Apps over https only
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("Open inside Telegram"), web_app=WebAppInfo(url=f"{base}/dashboard/webapp"))]])
    # No link preview: a preview would fetch the page (harmless, the link needs a button press, but pointless).
    await message.answer(
        _("Your sign-in link to the dashboard, valid once and for {minutes} minutes:\n{link}\n\nDo not share it: "
          "whoever opens it sees what you see.").format(
            minutes=minutes, link=f'<a href="{escape(link)}">{escape(link)}</a>'),
        link_preview_options=LinkPreviewOptions(is_disabled=True), reply_markup=markup)
