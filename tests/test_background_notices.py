"""An organiser never waits on a fan-out: publishing a ballot answers from the update at once, the notices are
queued by a durable background task (set-based, rendered once per language and village) and each villager gets
exactly one, also when the task runs again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from jobs.voting import queue_notices
from services import voting
from services.places import find_aiyl_aimak
from services.roles import Role, grant
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
