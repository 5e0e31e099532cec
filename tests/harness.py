"""The real Jamaat application talking HTTP to the Bot API emulator, on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.app import Jamaat, stop_polling
from bot.emulator import Emulator, Limits
from bot.emulator.whatsapp import WhatsAppEmulator, WhatsAppLimits
from bot.i18n import make_i18n
from bot.settings import Settings
from jobs.tasks import run_due_tasks, tasks_held
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database

PHONE_HASH_KEY = "test-phone-hash-key-0123456789"
ADMIN_ID = 9001
# How long the harness's emulators wait for something that should happen (a reply, a settled queue) before the
# test fails. Generous, because the suite runs in parallel processes on a possibly loaded machine; a wait ends
# as soon as its condition holds, so a passing test is no slower for it.
PATIENCE = 60.0
# How long a test waits for a ``jamaat`` process it started to be up: a new Python importing aiogram and
# migrating its database, which on a machine loaded by other work can take a while.
STARTUP = 2 * PATIENCE


@dataclass
class Harness:
    emu: Emulator
    db: Database
    settings: Settings
    app: Jamaat | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    wa: WhatsAppEmulator | None = None  # the WhatsApp Cloud API emulator, when the test asked for WhatsApp
    wa_runner: web.AppRunner | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Start the bot: migrations, menus, jobs, then polling (one update at a time, so tests are exact)."""
        self.app = Jamaat.create(self.settings, db=self.db)
        await self.app.prepare()
        if self.wa is not None:
            await self._serve_whatsapp()
        self.task = asyncio.create_task(self.app.run_polling(handle_as_tasks=False, polling_timeout=1))
        await self.emu.wait_for(lambda: self.emu.polling, message="the bot never started polling")

    async def _serve_whatsapp(self) -> None:
        """WhatsApp's webhook of this bot process, handled before it answers (so a test knows when it is done)."""
        from bot.webhook import WHATSAPP_PATH, whatsapp_inbound

        assert self.app is not None and self.wa is not None
        inbound = whatsapp_inbound(self.app, handle_in_background=False)
        assert inbound is not None
        server = web.Application()
        inbound.register(server, WHATSAPP_PATH)
        self.wa_runner = web.AppRunner(server)
        await self.wa_runner.setup()
        site = web.TCPSite(self.wa_runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.wa.webhook_url = f"http://127.0.0.1:{port}{WHATSAPP_PATH}"

    async def stop(self) -> None:
        if self.wa_runner is not None:
            await self.wa_runner.cleanup()
            self.wa_runner = None
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

    def wa_user(self, wa_id: str | None, name: str = "Aibek", **fields: Any):  # noqa: ANN201 - WaPhone
        assert self.wa is not None, "start the harness with whatsapp=True"
        return self.wa.user(wa_id, name, **fields)


async def run_tasks_at(app: Any, now: datetime) -> list[str]:
    """``run_due_tasks`` at the test's clock (the kinds of the tasks that ran), the process's own runner (on the real
    clock) held meanwhile: a lease it took has run out at a later clock, so both would run the same task
    (``jobs.tasks.tasks_held``). Check the kinds a test is about: a clock moved past the 1st of a month also runs
    the helpdesk's monthly report."""
    async with tasks_held(app):
        return await run_due_tasks(app, now=now)


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


def whatsapp_settings(wa: WhatsAppEmulator) -> dict[str, Any]:
    return {"whatsapp_token": wa.token, "whatsapp_phone_number_id": wa.phone_number_id,
            "whatsapp_app_secret": wa.app_secret, "whatsapp_verify_token": "wa-verify-token",
            "whatsapp_api_base_url": wa.base_url, "whatsapp_api_version": wa.version,
            "whatsapp_retry_seconds": 0.05}


@asynccontextmanager
async def running_bot(db: Database, *, limits: Limits | None = None, places: bool = True,
                      whatsapp: bool | WhatsAppLimits = False, **settings: Any) -> AsyncIterator[Harness]:
    """Emulator + Jamaat on ``db``; sample places loaded unless ``places=False``; with ``whatsapp`` also the
    WhatsApp Cloud API emulator (with those limits, if given), which knows the bot's templates."""
    async with AsyncExitStack() as stack:
        emu = await stack.enter_async_context(Emulator(limits=limits, timeout=PATIENCE))
        wa = None
        if whatsapp:
            wa_limits = whatsapp if isinstance(whatsapp, WhatsAppLimits) else None
            wa = await stack.enter_async_context(WhatsAppEmulator(limits=wa_limits, timeout=PATIENCE))
            settings = {**whatsapp_settings(wa), **settings}
        if places:
            await db.upgrade()
            async with db.session() as session:
                await import_places(session, SAMPLE_PLACES)
        harness = Harness(emu=emu, db=db, settings=harness_settings(emu, db, **settings), wa=wa)
        if wa is not None:
            from bot.whatsapp.templates import emulator_templates

            wa.templates = emulator_templates(harness.settings, make_i18n(harness.settings.default_language))
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
