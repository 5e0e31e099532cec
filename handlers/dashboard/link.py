"""/dashboard: a one-time sign-in link to the web dashboard (services.dashboard keeps only its hash)."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.urls import link_url, public_url
from bot.routes import Routes
from bot.settings import Settings
from handlers.dashboard.views import link_text, refusal_text, web_app_keyboard
from services.roles import Roles

router = Routes("dashboard_link")


@router.message(Command("dashboard"))
async def on_dashboard(message: Message, session: AsyncSession, roles: Roles | None, settings: Settings) -> None:
    from services import dashboard as dash  # the dashboard's sign-in: loaded with the first /dashboard

    if message.from_user is None or not dash.may_use_dashboard(roles):
        await message.answer(refusal_text())
        return
    minutes = settings.dashboard_link_minutes
    token = await dash.issue_link(session, message.from_user.id, minutes=minutes)
    base = public_url(settings)
    # No link preview: it would fetch the page for nothing (the link needs a button press to sign in).
    await message.answer(link_text(link_url(base, token), minutes), reply_markup=web_app_keyboard(base),
                         link_preview_options=LinkPreviewOptions(is_disabled=True))
