"""The WhatsApp channel: an adapter at the edge (like RapidPro's courier), so the flows are the same for both.

- ``inbound``: WhatsApp's webhook → aiogram updates fed to the same dispatcher;
- ``channel``: Bot API calls to a WhatsApp chat → Cloud API messages (routed there by ``session``);
- ``outgoing``: what ``channel`` sends (``Outgoing``), its bookkeeping, conversions to and from the Bot API;
- ``render``: choices as reply buttons, lists or numbered menus; ``templates``: outside the 24-hour window;
- ``client``: the Graph API itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.whatsapp.channel import WhatsAppChannel


def attach(settings: Settings, db: Database, i18n: I18n, bot: Bot) -> WhatsAppChannel | None:
    """Route the bot's calls to WhatsApp chats through the WhatsApp channel, when WhatsApp is configured."""
    if not settings.whatsapp_enabled:
        return None
    from bot.whatsapp.channel import WhatsAppChannel
    from bot.whatsapp.session import ChannelSession

    channel = WhatsAppChannel(settings, db, i18n)
    bot.session = ChannelSession(bot.session, channel)
    return channel
