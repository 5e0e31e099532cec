"""A local Telegram Bot API emulator for tests and the offline demo.

    async with Emulator() as emu:
        bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        user = emu.user(1001, "Aibek", language_code="ky")
        await user.send("/start")
        assert "Salam" in user.last.text
"""

from .bot_message import OWN, BotMessage, FileView, tiny_png
from .driver import Emulator, TestChat, TestGroup, TestUser
from .server import ApiError, BotApiServer, Limits, Stats, parse_html

__all__ = [
    "OWN",
    "ApiError",
    "BotApiServer",
    "BotMessage",
    "Emulator",
    "FileView",
    "Limits",
    "Stats",
    "TestChat",
    "TestGroup",
    "TestUser",
    "parse_html",
    "tiny_png",
]
