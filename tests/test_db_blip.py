"""A database blip loses no update (issue 10, 1): PostgreSQL's connections are reset and refused for a while
during a burst of registrations and ballots; every update ends handled exactly once, nobody is apologised to.
Through the Bot API emulator, over the webhook and in polling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot import delivery
from bot.app import Jamaat
from bot.emulator import Emulator
from bot.webhook import register_webhook, webhook_app
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database
from storage.models import Person, ProcessedUpdate
from storage.voting import Ballot
from tests.backends import POSTGRES_URL, REDIS_URL, postgres_schema, redis_prefix
from tests.faults import proxy_to
from tests.harness import Harness, harness_settings, running_bot
from tests.ports import free_port
from tests.test_voting_services import add_villager, protocol_round

VOTERS = range(5101, 5109)
NEWCOMERS = range(5201, 5209)
APOLOGY = "something went wrong"
# Short backoff for the test; many deliveries, so that only the blip's length decides.
PATIENT = {"update_retry_seconds": 0.1, "update_attempts": 4, "update_deliveries": 50, "update_retry_pause": 0.2}


@asynccontextmanager
async def bot_in(mode: str, db: Database, **overrides: Any) -> AsyncIterator[Harness]:
    async with Emulator(timeout=60) as emu:
        async with db.session() as session:
            await import_places(session, SAMPLE_PLACES)
        if mode == "polling":
            harness = Harness(emu=emu, db=db, settings=harness_settings(emu, db, **overrides))
            await harness.start()
            try:
                yield harness
            finally:
                await harness.stop()
            return
        port = free_port()
        settings = harness_settings(emu, db, webhook_url=f"http://127.0.0.1:{port}", webhook_secret="blip-secret",
                                    **overrides)
        app = Jamaat.create(settings, db=db)
        runner = web.AppRunner(webhook_app(app))
        try:
            await app.prepare()
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await register_webhook(app)
            yield Harness(emu=emu, db=db, settings=settings, app=app)
        finally:
            await runner.cleanup()
            await app.close()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_database_blip_loses_no_update(mode: str) -> None:
    async with postgres_schema() as schema, proxy_to(POSTGRES_URL) as proxy:
        db = Database(proxy.url(POSTGRES_URL), schema=schema)
        try:
            await db.upgrade()
            round_id, _problems = await protocol_round(db)
            for telegram_id in VOTERS:
                await add_villager(db, telegram_id, "aral")
            async with bot_in(mode, db, **PATIENT) as bot:
                voters = [bot.user(i, language_code="en") for i in VOTERS]
                for voter in voters:
                    await voter.send("/vote")
                    await voter.tap(index=0)
                    await voter.tap(contains="Next")
                newcomers = [bot.user(i, language_code="en", phone=f"+99670{i:07d}") for i in NEWCOMERS]
                for newcomer in newcomers:
                    await newcomer.send("/start")
                    await newcomer.tap("English")

                proxy.cut()  # connections reset, new ones refused: the database is gone for a while
                burst = []
                for voter, newcomer in zip(voters, newcomers, strict=True):
                    burst.append(await voter.tap("✅ Confirm", wait=False))
                    burst.append(await newcomer.share_contact(wait=False))
                await bot.emu.wait_for(lambda: proxy.refused >= 12, timeout=60, message="the bot never retried")
                proxy.restore()
                await bot.emu.settle(timeout=90)

                for person in (*voters, *newcomers):
                    assert not any(APOLOGY in (t or "") for t in person.texts), person.dump()
                    assert not any(APOLOGY in (t or "") for t, _alert in person.callback_answers)
                for newcomer in newcomers:
                    assert newcomer.texts.count("Thank you, your number is confirmed.") == 1, newcomer.dump()
                for voter in voters:
                    assert any("Receipt code" in (t or "") for t in voter.texts), voter.dump()
            async with db.session() as session:
                ballots = await session.execute(select(Ballot.person_id, func.count()).where(
                    Ballot.round_id == round_id).group_by(Ballot.person_id))
                assert sorted(count for _person, count in ballots.all()) == [1] * len(VOTERS)
                confirmed = await session.scalar(select(func.count()).select_from(Person).where(
                    Person.telegram_id.in_(list(NEWCOMERS)), Person.phone_hash.is_not(None)))
                assert confirmed == len(NEWCOMERS)
                claimed = set(await session.scalars(select(ProcessedUpdate.update_id)))
                assert {update["update_id"] for update in burst} <= claimed
        finally:
            await db.dispose()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_update_is_given_up_with_one_apology_only_after_its_last_delivery(
        mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="jamaat.resilience")
    async with postgres_schema() as schema, proxy_to(POSTGRES_URL) as proxy:
        db = Database(proxy.url(POSTGRES_URL), schema=schema)
        try:
            await db.upgrade()
            settings = {"update_retry_seconds": 0.05, "update_attempts": 2, "update_deliveries": 3,
                        "update_retry_pause": 0.05}
            async with bot_in(mode, db, **settings) as bot:
                person = bot.user(5301, language_code="ru")
                proxy.cut()
                await person.send("/help")
                # 3 deliveries (webhook) or rounds (polling) of 2 attempts each, then the apology, in Russian. Each
                # failed attempt says so: the first of a round "attempt 1", the second how the round ends.
                failed = [r.getMessage() for r in caplog.records if r.name == "jamaat.resilience"]
                assert len(failed) == 6 and sum(", attempt 1:" in line for line in failed) == 3, failed
                assert proxy.refused >= 5  # the first attempt on a pooled connection (reset), the rest on new ones
                assert len(person.texts) == 1 and "Извините" in person.texts[0], person.dump()
                proxy.restore()
                await person.send("/start")  # the database is back: the bot answers as usual
                assert len(person.texts) == 2 and "Извините" not in person.texts[1], person.dump()
        finally:
            await db.dispose()


async def test_a_redis_blip_loses_no_update(db: Database) -> None:
    """Conversation state in Redis; Redis's connections reset and refused for a while during registrations."""
    async with redis_prefix() as prefix, proxy_to(REDIS_URL) as proxy:
        async with running_bot(db, redis_url=proxy.url(REDIS_URL), redis_key_prefix=prefix, **PATIENT) as bot:
            newcomers = [bot.user(i, language_code="en", phone=f"+99670{i:07d}") for i in NEWCOMERS[:4]]
            for newcomer in newcomers:
                await newcomer.send("/start")
                await newcomer.tap("English")
            proxy.cut()
            burst = [await newcomer.share_contact(wait=False) for newcomer in newcomers]
            await bot.emu.wait_for(lambda: proxy.refused >= 3, timeout=60, message="the bot never retried")
            proxy.restore()
            await bot.emu.settle(timeout=90)
            for newcomer in newcomers:
                assert newcomer.texts.count("Thank you, your number is confirmed.") == 1, newcomer.dump()
                assert not any(APOLOGY in (t or "") for t in newcomer.texts)
            async with db.session() as session:
                claimed = set(await session.scalars(select(ProcessedUpdate.update_id)))
            assert {update["update_id"] for update in burst} <= claimed


async def test_jobs_say_one_line_when_the_database_goes_and_one_when_it_is_back(
        caplog: pytest.LogCaptureFixture) -> None:
    async with postgres_schema() as schema, proxy_to(POSTGRES_URL) as proxy:
        db = Database(proxy.url(POSTGRES_URL), schema=schema)
        try:
            await db.upgrade()
            async with bot_in("polling", db, jobs_interval_seconds=0.05) as bot:
                person = bot.user(5401, language_code="en")
                caplog.set_level(logging.INFO)
                proxy.cut()  # the sender and the task runner keep failing, every 0.05 s
                await bot.emu.wait_for(lambda: proxy.refused >= 40, timeout=60, message="the jobs never ran")
                proxy.restore()
                async with db.session() as session:
                    await delivery.notify(session, person.id, "After the blip", dedupe_key="blip-test")
                await person.wait_for_message(lambda m: m.text == "After the blip", timeout=30)
                await bot.emu.wait_for(lambda: any("outbox sender: back after" in r.getMessage()
                                                   for r in caplog.records), timeout=30, message="never back")
        finally:
            await db.dispose()
    lines = [r for r in caplog.records if r.name.startswith("jobs")]
    assert not [r.getMessage() for r in lines if r.exc_info or r.levelno >= logging.ERROR]
    for job in ("outbox sender", "scheduled tasks"):
        went = [r for r in lines if job in r.getMessage() and "trying again quietly" in r.getMessage()]
        assert len(went) == 1, [r.getMessage() for r in lines]
