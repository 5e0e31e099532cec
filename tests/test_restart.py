"""A restart in the middle of a flow loses nothing: conversation state in the database or in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.app import Jamaat, stop_polling
from bot.emulator import Emulator
from services.people import person_by_telegram_id
from storage.db import Database
from storage.models import FsmRecord, ProcessedUpdate
from tests.backends import REDIS_URL, redis_prefix
from tests.harness import PATIENCE, Harness, harness_settings, running_bot


async def fsm_rows(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(FsmRecord)))


async def half_register_then_restart(bot: Harness, user_id: int, mid_flow: Callable[[], Awaitable[None]]) -> None:
    user = bot.user(user_id, language_code="en", phone=f"+99670{user_id:07d}")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")  # now choosing the village
    villages = user.last
    await mid_flow()
    await bot.restart()
    await user.tap("Бирдик", message=villages)  # the same old button, answered by the new process
    assert user.last.text.startswith("One more, optional step")
    await user.tap("Yes, add them")
    await bot.restart()
    await user.tap("Woman")
    await user.tap("56+")
    assert "you are registered in Бирдик" in user.last.text
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, user_id)
        assert (person.village.code, person.sex, person.age_band) == ("birdik", "f", "56+")


async def test_restart_mid_registration_with_database_state(bot: Harness) -> None:
    async def state_is_in_the_database() -> None:
        assert await fsm_rows(bot.db) == 1

    await half_register_then_restart(bot, 1301, state_is_in_the_database)


async def test_restart_mid_registration_with_redis_state(db: Database) -> None:
    async with redis_prefix() as prefix:
        async with running_bot(db, redis_url=REDIS_URL, redis_key_prefix=prefix) as bot:
            assert isinstance(bot.app.dispatcher.storage, RedisStorage)
            assert isinstance(bot.app.dispatcher.fsm.events_isolation, RedisEventIsolation)  # a lock per person

            async def state_is_in_redis() -> None:
                client = Redis.from_url(REDIS_URL)
                try:
                    assert [key async for key in client.scan_iter(match=f"{prefix}:*")]
                finally:
                    await client.aclose()
                assert await fsm_rows(db) == 0

            await half_register_then_restart(bot, 1302, state_is_in_redis)


async def test_a_stopping_bot_finishes_the_updates_it_is_handling(db: Database) -> None:
    """A deploy's stop while an update is being handled (here: its reply waits out a 429's retry_after): the
    reply still goes and the update is recorded before the process closes. Telegram has the update as delivered
    already, so it would not come again."""
    await db.upgrade()
    async with Emulator(timeout=PATIENCE) as emu:
        settings = harness_settings(emu, db)
        app = Jamaat.create(settings, db=db)
        await app.prepare()
        task = asyncio.create_task(app.run_polling(polling_timeout=1))  # updates handled as tasks, as in production
        try:
            await emu.wait_for(lambda: emu.polling, message="the bot never started polling")
            user = emu.user(3501, "Айгүл", language_code="en")
            emu.inject_429(1, retry_after=2, chat_id=user.id)
            update = await user.send("/help", wait=False)
            await emu.wait_for(lambda: emu.stats.rate_limited >= 1, message="the 429 was not answered")
        finally:
            await stop_polling(app, task)  # while the reply waits for its retry_after
            await app.close()
    assert any("What I can do" in (t or "") for t in user.texts), user.dump()
    async with db.session() as session:
        assert await session.get(ProcessedUpdate, update["update_id"]) is not None
