"""Wiring: settings, database, bot, dispatcher, middlewares and routers in one application."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.utils.i18n import I18n

from bot import groups
from bot.client import JsonSession
from bot.commands import set_default_menus, set_personal_menu
from bot.groups import GroupGate
from bot.i18n import PersonLanguageMiddleware, make_i18n
from bot.input_guard import CallbackGuard, MessageGuard
from bot.menu import MenuMiddleware
from bot.middlewares import SessionMiddleware, TextLengthMiddleware, fsm_key_reader
from bot.objects import flatten_post_init
from bot.resilience import BotApiPolicy, ResilientDispatcher, RetryPolicy
from bot.routes import index_callbacks, inline_sync_filters
from bot.settings import Settings
from bot.whatsapp import attach as attach_whatsapp
from handlers import all_routers
from jobs import schedule_jobs, stop_jobs
from jobs.clock import Clock
from services import helpdesk
from services.people import person_by_telegram_id
from services.roles import roles_of
from storage.db import Database
from storage.fsm import DatabaseStorage
from storage.models import RoleGrant

log = logging.getLogger(__name__)
# How long a stopping bot (a deploy's SIGTERM) lets the updates it is handling finish: Docker kills at 10 s.
UPDATES_IN_FLIGHT_S = 8.0


def create_bot(settings: Settings) -> Bot:
    settings.require("bot_token")
    assert settings.bot_token is not None
    flatten_post_init()  # aiogram's objects set up once (bot.objects)
    session = JsonSession()
    if settings.api_base_url:
        session = JsonSession(api=TelegramAPIServer.from_base(settings.api_base_url))
    return Bot(settings.bot_token.get_secret_value(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_storage(settings: Settings, db: Database) -> BaseStorage:
    """Redis when configured (several processes), else the database: both survive a restart."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage  # redis only when configured

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(prefix=settings.redis_key_prefix, with_destiny=True)
        )
    return DatabaseStorage(db)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.update_attempts, first_delay=settings.update_retry_seconds,
                       deliveries=settings.update_deliveries, pause=settings.update_retry_pause,
                       api_retries=settings.api_retries)


def create_dispatcher(settings: Settings, db: Database, i18n: I18n, storage: BaseStorage) -> Dispatcher:
    # With Redis, one person's updates are handled one at a time across every bot process (a Redis lock);
    # otherwise within this process.
    isolation = storage.create_isolation() if getattr(storage, "redis", None) is not None else None
    dispatcher = ResilientDispatcher(policy=retry_policy(settings), i18n=i18n, storage=storage,
                                     events_isolation=isolation, settings=settings, db=db)
    session_middleware = SessionMiddleware(db, frozenset(settings.admin_ids), fsm_key_reader(dispatcher))
    session_middleware.install(dispatcher)
    middlewares = dispatcher.update.outer_middleware._middlewares
    middlewares.insert(middlewares.index(session_middleware), GroupGate(settings))  # before any database work
    PersonLanguageMiddleware(i18n).setup(dispatcher)
    dispatcher.message.outer_middleware(TextLengthMiddleware(settings.max_text_length))
    dispatcher.message.outer_middleware(MessageGuard())  # input the database cannot take: refused, state kept
    dispatcher.callback_query.outer_middleware(CallbackGuard())
    dispatcher.message.outer_middleware(MenuMiddleware(i18n))
    dispatcher.include_routers(groups.router.build(), *all_routers())
    inline_sync_filters(dispatcher)
    index_callbacks(dispatcher)
    dispatcher.shutdown.register(finish_updates_in_flight(dispatcher))
    return dispatcher


@dataclass
class Jamaat:
    """The running application."""

    settings: Settings
    db: Database
    bot: Bot
    i18n: I18n
    dispatcher: Dispatcher
    scheduler: Clock = field(default_factory=Clock)
    whatsapp: Any = None  # bot.whatsapp.channel.WhatsAppChannel when WhatsApp is configured

    @classmethod
    def create(cls, settings: Settings, db: Database | None = None, bot: Bot | None = None) -> Jamaat:
        settings.require("phone_hash_key")
        db = db or Database(settings.database_url)
        i18n = make_i18n(settings.default_language)
        dispatcher = create_dispatcher(settings, db, i18n, create_storage(settings, db))
        bot = bot or create_bot(settings)
        bot.session.middleware(BotApiPolicy(retry_policy(settings)))
        whatsapp = attach_whatsapp(settings, db, i18n, bot)
        return cls(settings=settings, db=db, bot=bot, i18n=i18n, dispatcher=dispatcher, whatsapp=whatsapp)

    async def prepare(self) -> None:
        """Schema up to date, menus set, jobs scheduled."""
        await self.db.upgrade()
        await set_default_menus(self.bot, self.i18n)
        await self.refresh_personal_menus()
        schedule_jobs(self.scheduler, self)
        self.scheduler.start()

    async def refresh_personal_menus(self) -> None:
        """Role holders and admins see their extra commands in the language they chose."""
        from sqlalchemy import select

        config = helpdesk.HelpdeskConfig.from_settings(self.settings)  # /ask only for those who may ask
        async with self.db.session() as session:
            ids = set(await session.scalars(select(RoleGrant.telegram_id).distinct())) | set(self.settings.admin_ids)
            for telegram_id in sorted(ids):
                person = await person_by_telegram_id(session, telegram_id)
                if person is None or person.language is None:
                    continue
                roles = await roles_of(session, telegram_id, frozenset(self.settings.admin_ids))
                asks = (await helpdesk.may_ask(session, person, config)).allowed
                await set_personal_menu(self.bot, self.i18n, telegram_id, person.language, roles, may_ask=asks)

    async def run_polling(self, *, handle_as_tasks: bool = True, polling_timeout: int = 10,
                          handle_signals: bool = False) -> None:
        """Poll until stopped; ``handle_signals`` makes SIGTERM and SIGINT stop it gracefully (``jamaat run``)."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(
            self.bot,
            handle_as_tasks=handle_as_tasks,
            polling_timeout=polling_timeout,
            handle_signals=handle_signals,
            close_bot_session=False,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def close(self) -> None:
        self.scheduler.stop()
        await stop_jobs(self)  # messages in flight record their answers before the session closes
        if self.dispatcher.storage is not None:
            await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.db.dispose()


def settle_heap() -> int:
    """Once start-up is done (imports, wiring, ``prepare``): what it made lives as long as the process, so it is
    moved out of the garbage collector's sight (``gc.freeze``). A full collection then walks what updates made,
    not the ~370,000 objects of aiogram, pydantic, SQLAlchemy and the routers, again and again (at every full
    collection, about one every 500 updates: ~5 % of the CPU of a registration or a vote). Only for a process
    that runs one application until it stops (``jamaat run``, ``jamaat webhook``); the number frozen is logged."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up done: %s objects set aside from garbage collection", frozen)
    return frozen


def finish_updates_in_flight(dispatcher: Dispatcher, timeout: float = UPDATES_IN_FLIGHT_S) -> Any:
    """A handler for aiogram's shutdown (the end of polling): the updates being handled as tasks finish, for up
    to ``timeout`` seconds, before the process closes its database and HTTP session. Telegram counts them as
    delivered already (the next getUpdates confirmed them): cut off, they would be lost, not sent again."""

    async def finish() -> None:
        running = [task for task in dispatcher._handle_update_tasks if not task.done()]
        if not running:
            return
        log.info("stopping: waiting for %s update(s) being handled", len(running))
        _, pending = await asyncio.wait(running, timeout=timeout)
        if pending:
            log.warning("stopping: %s update(s) still being handled after %s s are cut off", len(pending), timeout)

    return finish


async def stop_polling(app: Jamaat, task: asyncio.Task[None]) -> None:
    """Stop a polling task started with ``asyncio.create_task(app.run_polling())``."""
    try:
        await app.dispatcher.stop_polling()
    except RuntimeError:
        pass
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
