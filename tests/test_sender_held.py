"""jobs.sender.sender_held: the process's own drainer waits while a caller sends with a clock of its own."""

from __future__ import annotations

import asyncio

from bot import delivery
from jobs.sender import kick_sender, send_pending, sender_held
from storage.models import utcnow
from tests.harness import Harness
from tests.test_registration import register


async def test_the_drainer_waits_while_held_and_works_after(bot: Harness) -> None:
    user = await register(bot, 1501, language="English", sex=None)
    assert bot.app is not None
    before = len(user.texts)
    async with sender_held(bot.app):
        async with bot.db.session() as session:
            await delivery.notify(session, user.id, "Held notice", dedupe_key="held-1")
        await kick_sender(bot.app)
        await asyncio.sleep(1.5)  # the scheduler's own kicks (every second) start nothing either
        assert "Held notice" not in user.texts[before:]
        report = await send_pending(bot.app, now=utcnow())  # the holder sends it itself
        assert report.sent == 1
    await user.wait_for_message(lambda m: m.text == "Held notice")
    async with bot.db.session() as session:
        await delivery.notify(session, user.id, "After the hold", dedupe_key="held-2")
    await kick_sender(bot.app)
    await user.wait_for_message(lambda m: m.text == "After the hold")
    assert user.texts.count("Held notice") == 1
