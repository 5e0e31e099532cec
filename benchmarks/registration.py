"""Registration throughput: N simulated villagers register against the Bot API emulator.

Prints updates per second for Jamaat and for a bare aiogram echo bot driven the same way in the same run
(same emulator, same number of updates, same polling mode), and their ratio, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/registration.py [--villagers 200] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.emulator import Emulator, TestUser  # noqa: E402
from tests.backends import database  # noqa: E402
from tests.harness import running_bot  # noqa: E402

STEPS = 6  # /start, language, contact, aiyl aimak, village, consent


async def register(user: TestUser) -> None:
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")
    await user.tap("Арал")
    await user.tap("Skip")
    assert "registered" in (user.last.text or ""), user.dump()


async def echo_conversation(user: TestUser) -> None:
    """The same number and kinds of updates, answered by a bot with no logic."""
    await user.send("/start")
    await user.tap("again")
    await user.share_contact()
    await user.tap("again")
    await user.tap("again")
    await user.tap("again")


async def timed(users: list[TestUser], conversation: Callable[[TestUser], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(conversation(u) for u in users))
    return len(users) * STEPS / (time.perf_counter() - started)


def people(emu: Emulator, count: int) -> list[TestUser]:
    return [emu.user(100000 + i, f"V{i}", language_code="en", phone=f"+99677{i:07d}") for i in range(count)]


async def jamaat_rate(backend: str, count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db, running_bot(db) as bot:
            return await timed(people(bot.emu, count), register)


async def echo_rate(count: int) -> float:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="again", callback_data="again")]])
    dispatcher = Dispatcher()

    @dispatcher.message(F.text | F.contact)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "contact", reply_markup=keyboard)

    @dispatcher.callback_query()
    async def again(query: CallbackQuery) -> None:
        await query.answer()
        await query.message.answer("again", reply_markup=keyboard)

    async with Emulator() as emu:
        bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        task = asyncio.create_task(dispatcher.start_polling(bot, handle_as_tasks=False, polling_timeout=1,
                                                            handle_signals=False))
        await emu.wait_for(lambda: emu.polling)
        try:
            return await timed(people(emu, count), echo_conversation)
        finally:
            await dispatcher.stop_polling()
            await task
            await bot.session.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiogram").setLevel(logging.WARNING)
    print(f"registration: {args.villagers} villagers x {STEPS} updates, polling one update at a time")
    print(f"{'back end':10} {'Jamaat upd/s':>13} {'echo upd/s':>11} {'ratio':>7}")
    for backend in args.backends.split(","):
        echo = await echo_rate(args.villagers)
        jamaat = await jamaat_rate(backend, args.villagers)
        print(f"{backend:10} {jamaat:13.1f} {echo:11.1f} {jamaat / echo:7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
