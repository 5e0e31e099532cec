"""The real Jamaat application talking HTTP to the Bot API emulator, on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.app import Jamaat, stop_polling
from bot.emulator import Emulator, Limits
from bot.settings import Settings
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database

PHONE_HASH_KEY = "test-phone-hash-key-0123456789"
ADMIN_ID = 9001


@dataclass
class Harness:
    emu: Emulator
    db: Database
    settings: Settings
    app: Jamaat | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Start the bot: migrations, menus, jobs, then polling (one update at a time, so tests are exact)."""
        self.app = Jamaat.create(self.settings, db=self.db)
        await self.app.prepare()
        self.task = asyncio.create_task(self.app.run_polling(handle_as_tasks=False, polling_timeout=1))
        await self.emu.wait_for(lambda: self.emu.polling, message="the bot never started polling")

    async def stop(self) -> None:
        if self.app is not None and self.task is not None:
            await stop_polling(self.app, self.task)
            await self.app.close()
        self.app, self.task = None, None

    async def restart(self) -> None:
        """Stop the bot process and start a new one on the same database, as after a crash or deploy."""
        await self.stop()
        await self.start()

    def user(self, user_id: int, first_name: str = "Aibek", **fields: Any):  # noqa: ANN201 - TestUser
        return self.emu.user(user_id, first_name, **fields)


def harness_settings(emu: Emulator, db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": emu.token,
        "api_base_url": emu.base_url,
        "database_url": db.url,
        "phone_hash_key": PHONE_HASH_KEY,
        "admin_ids": [ADMIN_ID],
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_bot(db: Database, *, limits: Limits | None = None, places: bool = True,
                      **settings: Any) -> AsyncIterator[Harness]:
    """Emulator + Jamaat on ``db``; sample places loaded unless ``places=False``."""
    async with Emulator(limits=limits) as emu:
        if places:
            await db.upgrade()
            async with db.session() as session:
                await import_places(session, SAMPLE_PLACES)
        harness = Harness(emu=emu, db=db, settings=harness_settings(emu, db, **settings))
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
