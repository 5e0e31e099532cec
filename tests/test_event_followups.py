"""An organiser never waits on an event's follow-ups either: moving, cancelling and publishing the outcome answer
from the organiser's update at once (nothing is queued in it); a durable background task queues the notices
set-based, each villager gets exactly one, also when the process dies half-way and the task runs again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from jobs.events import NOTICES_TASK, announce, follow_up, publish_outcome, schedule_announcement
from services import events
from services.roles import roles_of
from storage.db import Database
from storage.delivery import OutboxMessage, ScheduledTask
from storage.models import utcnow
from tests.harness import Harness, running_bot
from tests.test_events import FAST, ORGANISER, ZONE, aimak_id, delivered, local, organiser, texts, villagers

SLOW = {**FAST, "jobs_interval_seconds": 3600}  # no background runs until the test says so


async def _announced(bot: Harness, aimak: str) -> int:
    """An event announced and its notices queued (the announcement is not what these tests are about)."""
    assert bot.app is not None
    aimak_pk = await aimak_id(bot.db, aimak)
    async with bot.db.session() as session:
        event = await events.create_event(
            session, roles=await roles_of(session, ORGANISER), aiyl_aimak_id=aimak_pk, kind="hearing",
            topic="Draft local budget for 2027", agenda="1. Revenues", place="Club", village_ids=[],
            starts_at=(utcnow() + timedelta(days=5)).replace(second=0, microsecond=0), whole_aimak=True,
            reminder_minutes=[1440])
        await schedule_announcement(session, event, settings=bot.app.settings, progress_chat_id=None)
        event_id = event.id
    await announce(bot.app, event_id, progress_chat_id=None)
    return event_id


async def _queued(bot: Harness, prefix: str) -> Counter[str]:
    async with bot.db.session() as session:
        return Counter(await session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.startswith(prefix))))


async def _task(bot: Harness, key: str) -> ScheduledTask | None:
    async with bot.db.session() as session:
        return await session.scalar(select(ScheduledTask).where(ScheduledTask.key == key))


async def _in_the_background(bot: Harness) -> None:
    """The next process runs the background work (and the sender) as usual."""
    bot.settings = bot.settings.model_copy(update={"jobs_interval_seconds": 0.2})
    await bot.restart()
    await delivered(bot, timeout=60)


async def test_a_change_and_a_cancellation_answer_at_once_and_survive_a_stop(db: Database) -> None:
    async with running_bot(db, **SLOW) as bot:
        boss = await organiser(bot, "kok-irim")
        people = await villagers(bot, "kok-irim", 30, first=50_000, languages=("ky", "ru", "en"))
        event_id = await _announced(bot, "kok-irim")

        later = (utcnow() + timedelta(days=12)).astimezone(ZONE).replace(hour=11, minute=0, second=0, microsecond=0)
        await boss.send("/events")
        await boss.tap(contains="Draft local budget")
        await boss.tap("Move the date")
        await boss.send(local(later))
        # The answer comes from the update; nothing of the change is queued in it, a durable task will.
        assert "Saved." in boss.last.text and "31 people" in boss.last.text, boss.texts
        assert not await _queued(bot, f"event:{event_id}:v2:")
        task = await _task(bot, f"event:{event_id}:change:v2")
        assert task is not None and task.kind == NOTICES_TASK and task.status == "pending"

        # The process dies in the middle of the fan-out: a fault after the second committed chunk.
        assert bot.app is not None
        inserts = [0]

        def die(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGE"):
                inserts[0] += 1
                if inserts[0] > 2:
                    raise ConnectionError("the process died")

        engine = bot.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", die)
        try:
            with pytest.raises(Exception, match="the process died"):
                await follow_up(bot.app, event_id, version=2, progress_chat_id=ORGANISER, chunk=4)
        finally:
            sa_event.remove(engine, "before_cursor_execute", die)
        assert 0 < sum((await _queued(bot, f"event:{event_id}:v2:")).values()) < 31

        await _in_the_background(bot)  # the next process runs the task again
        for telegram_id in [*people, ORGANISER]:
            change = [t for t in texts(bot, telegram_id) if t and t.startswith("⚠️")]
            assert len(change) == 1 and "11:00" in change[0], texts(bot, telegram_id)
        keys = await _queued(bot, f"event:{event_id}:v2:event.change:")
        assert len(keys) == 31 and set(keys.values()) == {1}
        # Rendered once per language, not once per person.
        async with bot.db.session() as session:
            assert await session.scalar(select(func.count(func.distinct(OutboxMessage.text))).where(
                OutboxMessage.dedupe_key.startswith(f"event:{event_id}:v2:event.change:"))) == 3
        report = await boss.wait_for_message(lambda m: (m.text or "").startswith("✅ Sent"), timeout=30)
        assert "Delivered: 31 of 31" in report.text
        # Running it again queues nobody twice.
        assert await follow_up(bot.app, event_id, version=2, progress_chat_id=ORGANISER) == 0

        await boss.send("/events")
        await boss.tap(contains="Draft local budget")
        await boss.tap("Cancel the event")
        await boss.tap("Yes, cancel it and tell the villagers")
        assert "31 people" in boss.last.text, boss.texts
        await delivered(bot, timeout=60)
        for telegram_id in [*people, ORGANISER]:
            assert len([t for t in texts(bot, telegram_id) if t and t.startswith("❌")]) == 1
        assert await follow_up(bot.app, event_id, version=3, progress_chat_id=ORGANISER) == 0
        # A change task that comes after the event moved again (or was cancelled) sends nothing.
        assert await follow_up(bot.app, event_id, version=2, progress_chat_id=ORGANISER) == 0


async def test_the_outcome_answers_at_once_and_reaches_each_villager_once(db: Database) -> None:
    async with running_bot(db, **SLOW) as bot:
        boss = await organiser(bot, "bel")
        people = await villagers(bot, "bel", 12, first=61_000, languages=("ky", "ru", "en"))
        event_id = await _announced(bot, "bel")
        await boss.send("/events")
        await boss.tap(contains="Draft local budget")
        await boss.tap("Record the outcome")
        await boss.send("120")
        await boss.send("70")
        await boss.send("The draft was read out and discussed.")
        await boss.send("Adopt the draft budget")
        await boss.send("100 0 0")
        await boss.tap("No more decisions")
        await boss.send("Light the main street")
        await boss.tap("📤 Publish to the villagers")
        assert any("13 people" in (t or "") for t in boss.texts[-3:]), boss.texts
        assert boss.messages[-1].document is not None  # the protocol for the organiser, from the update
        assert not await _queued(bot, f"event:{event_id}:outcome:")
        task = await _task(bot, f"event:{event_id}:outcome")
        assert task is not None and task.status == "pending"

        await _in_the_background(bot)
        for n, telegram_id in enumerate(people):
            outcome = [t for t in texts(bot, telegram_id) if t and t.startswith("📝")]
            assert len(outcome) == 1 and "120" in outcome[0], texts(bot, telegram_id)
            if n % 3 == 2:  # the readers of English
                assert "Attended: 120, of them women 70 (58%)" in outcome[0]
            assert bot.emu.user(telegram_id).messages[-1].document.filename.endswith(".docx")
        assert bot.app is not None
        assert await publish_outcome(bot.app, event_id, progress_chat_id=ORGANISER) == 0
        keys = await _queued(bot, f"event:{event_id}:")
        assert set(keys.values()) == {1}
        assert sum(k.startswith(f"event:{event_id}:outcome:") for k in keys) == 13
        assert sum(k.startswith(f"event:{event_id}:protocol:") for k in keys) == 13
        async with bot.db.session() as session:  # one protocol file per language
            files = await session.scalar(select(func.count(func.distinct(OutboxMessage.file_id))).where(
                OutboxMessage.dedupe_key.startswith(f"event:{event_id}:protocol:")))
            assert files == 3
