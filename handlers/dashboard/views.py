"""The /dashboard replies: the sign-in link, the Web App button, the refusal."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext


def link_text(link: str, minutes: int) -> str:
    anchor = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
    return ngettext("Your sign-in link to the dashboard, valid once and for {minutes} minute:\n{link}\n\nDo not "
                    "share it: whoever opens it sees what you see.",
                    "Your sign-in link to the dashboard, valid once and for {minutes} minutes:\n{link}\n\nDo not "
                    "share it: whoever opens it sees what you see.", minutes).format(minutes=minutes, link=anchor)


def web_app_keyboard(base: str) -> InlineKeyboardMarkup | None:
    """Inside Telegram as a Web App: only over https, as Telegram requires."""
    if not base.startswith("https://"):
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("Open inside Telegram"), web_app=WebAppInfo(url=f"{base}/dashboard/webapp"))]])


def refusal_text() -> str:
    return _("Sorry, the dashboard is only for organisers, lawyers and administrators. If you need it for your work, "
             "please ask the administrator of Jamaat.")
