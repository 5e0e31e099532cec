"""An organiser never waits on a fan-out: publishing a ballot answers from the update at once, the notices are
queued by a durable background task (set-based, rendered once per language and village) and each villager gets
exactly one, also when the task runs again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from jobs.voting import queue_notices
from services import voting
from services.places import find_aiyl_aimak
from services.roles import Role, grant
from storage.db import Database
from storage.delivery import OutboxMessage, ScheduledTask
from storage.models import utcnow
from tests.harness import Harness
from tests.test_voting_services import add_villager

ORGANISER = 2001
VILLAGERS = [3000 + i for i in range(30)]


async def test_publishing_a_ballot_queues_the_notices_in_the_background_once(bot: Harness) -> None:
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, ORGANISER, Role.ORGANISER, aimak.id)
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Priorities 2027", created_by=ORGANISER,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        for n in range(3):
            await voting.add_problem(session, rnd, title_ky=f"Маселе {n}", title_ru=f"Проблема {n}", by=ORGANISER)
        round_id = rnd.id
    for n, telegram_id in enumerate(VILLAGERS):
        bot.user(telegram_id, language_code="en")
        await add_villager(bot.db, telegram_id, ("aral", "birdik")[n % 2], language=("en", "ru", "ky")[n % 3])
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/rounds")
    await organiser.tap(contains="Priorities 2027")
    await organiser.tap("Publish the ballot and open voting")
    assert "30 villagers will get it" in organiser.last.text
    async with bot.db.session() as session:
        key = f"voting:{round_id}:notices:ballot"
        task = await session.scalar(select(ScheduledTask).where(ScheduledTask.key == key))
        assert task is not None  # the fan-out is background work, not the organiser's update

    def got_notice() -> bool:
        return all(any("Voting is open" in (m.text or "") or "Голосование" in (m.text or "") or m.buttons
                       for m in bot.user(t).messages) for t in VILLAGERS)

    await bot.emu.wait_for(got_notice)
    # Running the task again (after a stop, say) queues nothing twice.
    assert await queue_notices(bot.app, round_id, "ballot", by=ORGANISER, progress_chat_id=ORGANISER) == 0
    async with bot.db.session() as session:
        keys = Counter(await session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.startswith(f"voting:{round_id}:ballot:person:"))))
        assert len(keys) == 30 and set(keys.values()) == {1}
        texts = await session.scalar(select(func.count(func.distinct(OutboxMessage.text))).where(
            OutboxMessage.dedupe_key.startswith(f"voting:{round_id}:ballot:person:")))
        assert texts == 6  # three languages in two villages: rendered once each
    await bot.emu.settle()
    for telegram_id in VILLAGERS:
        assert sum(1 for m in bot.user(telegram_id).messages if m.buttons) == 1


async def test_an_event_announcement_is_background_work_that_survives_a_stop(db: Database) -> None:
    """Announcing an event answers the organiser from the update (nobody invited, nothing queued in it); the
    durable task invites and queues; a process that dies half-way through the task leaves it to the next one,
    and every villager gets the notice exactly once, the organiser one report."""
    from jobs.events import announce, schedule_announcement
    from services import events, roles
    from storage.events import EventInvite
    from tests.harness import running_bot
    from tests.test_events import FAST, ORGANISER, aimak_id, delivered, organiser, villagers

    async with running_bot(db, **{**FAST, "jobs_interval_seconds": 3600}) as bot:  # no background runs yet
        await organiser(bot, "kok-irim")
        people = await villagers(bot, "kok-irim", 60, first=40_000, languages=("ky", "ru", "en"))
        aimak = await aimak_id(bot.db, "kok-irim")
        async with bot.db.session() as session:  # what the organiser's update does
            event = await events.create_event(
                session, roles=await roles.roles_of(session, ORGANISER), aiyl_aimak_id=aimak,
                kind="hearing", topic="Draft local budget for 2027", agenda="1. Revenues", place="Club",
                starts_at=(utcnow() + timedelta(days=5)).replace(second=0, microsecond=0), village_ids=[],
                whole_aimak=True, reminder_minutes=[1440])
            assert await schedule_announcement(session, event, settings=bot.settings,
                                               progress_chat_id=ORGANISER) == 61
            event_id = event.id
        async with bot.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
            assert await session.scalar(select(func.count()).select_from(EventInvite)) == 0
            key = f"event:{event_id}:notices:v1"
            task = await session.scalar(select(ScheduledTask).where(ScheduledTask.key == key))
            assert task is not None and task.status == "pending"

        # The process dies in the middle of the task: a fault after the third committed chunk of notices (a
        # statement that fails, so the chunk in progress rolls back as in a crash), the rest never queued.
        assert bot.app is not None
        inserts = [0]

        def die(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGE"):
                inserts[0] += 1
                if inserts[0] > 3:
                    raise ConnectionError("the process died")

        engine = bot.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", die)
        try:
            with pytest.raises(Exception, match="the process died"):
                await announce(bot.app, event_id, progress_chat_id=ORGANISER, chunk=3)
        finally:
            sa_event.remove(engine, "before_cursor_execute", die)
        async with bot.db.session() as session:
            queued = await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        assert 0 < queued < 61

        bot.settings = bot.settings.model_copy(update={"jobs_interval_seconds": 0.2})
        await bot.restart()  # the next process runs the task (again) and sends
        await delivered(bot, timeout=60)
        report = await bot.user(ORGANISER).wait_for_message(lambda m: (m.text or "").startswith("✅ Sent"),
                                                            timeout=30)
        assert "Delivered: 61 of 61" in report.text
        for telegram_id in people:
            notices = [m for m in bot.user(telegram_id).messages if "Draft local budget" in (m.text or "")]
            assert len(notices) == 1, bot.user(telegram_id).texts
        async with bot.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(EventInvite)) == 61
            keys = Counter(await session.scalars(select(OutboxMessage.dedupe_key)))
            assert set(keys.values()) == {1}
