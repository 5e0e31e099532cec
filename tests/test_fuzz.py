"""Fuzzing in CI: a few hundred random updates of every kind (fixed seed) through the real dispatcher and the
Bot API emulator: no unhandled error, and the database keeps its promises (issue 10)."""

from __future__ import annotations

from storage.db import Database
from tests.fuzzing import ErrorLog, Fuzzer, invariant_violations, seed_world
from tests.harness import running_bot

UPDATES = 300


async def test_random_updates_break_nothing(db: Database) -> None:
    async with running_bot(db, helpdesk_group_chat_id=-1006400) as bot:
        world = await seed_world(bot)
        fuzzer = Fuzzer(bot.emu, world, seed=20261129)
        with ErrorLog() as errors:
            fed = await fuzzer.run(bot, UPDATES)
        assert fed == UPDATES
        assert not errors.records, f"{len(errors.records)} unhandled errors:\n{errors.summary()}"
        assert await invariant_violations(db) == []
        assert set(fuzzer.counts) >= {"text", "tap", "forged", "foreign_tap", "contact", "media", "edited", "group",
                                      "service", "member"}, fuzzer.counts
