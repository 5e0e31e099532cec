"""aiogram's session with WhatsApp chats routed to the WhatsApp channel (see ``bot.whatsapp.channel``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import GetFile, TelegramMethod
from aiogram.types import File

from bot.whatsapp.channel import MEDIA_PREFIX, WhatsAppChannel
from bot.whatsapp.outgoing import chat_of
from services import channels


class ChannelSession(BaseSession):
    """aiogram's session with WhatsApp chats routed to the WhatsApp channel (see the module's text)."""

    def __init__(self, inner: BaseSession, channel: WhatsAppChannel) -> None:
        super().__init__(api=inner.api, json_loads=inner.json_loads, json_dumps=inner.json_dumps,
                         timeout=inner.timeout)
        self.inner = inner
        self.channel = channel

    async def close(self) -> None:
        await self.inner.close()
        await self.channel.close()

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        if channels.is_whatsapp_chat(chat_of(method)):
            return await self.channel.call(bot, method)
        if isinstance(method, GetFile) and method.file_id.startswith(MEDIA_PREFIX):
            return File(file_id=method.file_id, file_unique_id=method.file_id, file_path=method.file_id)
        method = await self.channel.telegram_bound(bot, method)
        return await self.inner.make_request(bot, method, timeout)

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        if MEDIA_PREFIX in url:  # bot.download() of a WhatsApp media id
            data, _ = await self.channel.api.download(url.rsplit(MEDIA_PREFIX, 1)[1])
            yield data
            return
        async for chunk in self.inner.stream_content(url, headers, timeout, chunk_size, raise_for_status):
            yield chunk
