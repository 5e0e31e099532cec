"""Middlewares: each update once, a database session per update, the person and their roles."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from services import channels
from services.people import mark_reachable, person_with_roles
from storage import conversation, direct
from storage.db import Database, current_session, dialect_module
from storage.direct import Direct
from storage.fsm import DatabaseStorage
from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class SessionMiddleware(BaseMiddleware):
    """One database session per update, committed when the handler returns. It first claims the update id:
    a second delivery of the same update is skipped, and a handler that fails gives its claim back with the
    rest of its work (the claim is part of the update's transaction).

    It runs before aiogram's FSM middleware (``install``), so the conversation state is read inside the update's
    transaction, in the same statement as the person and their roles: the common path is one transaction with
    the claim, that read, the handler's own statements and the commit."""

    def __init__(self, db: Database, admin_ids: frozenset[int],
                 fsm_key: Callable[[dict[str, Any]], str | None] | None = None) -> None:
        self.db = db
        self.admin_ids = admin_ids
        self.fsm_key = fsm_key

    def install(self, dispatcher: Dispatcher) -> None:
        """An outer update middleware. With the state in the database: just before aiogram's FSM middleware (after
        its user context). With Redis the FSM middleware's lock is taken first, as before, so no transaction waits
        on another process's lock."""
        middlewares = dispatcher.update.outer_middleware._middlewares
        fsm = next((i for i, m in enumerate(middlewares) if isinstance(m, FSMContextMiddleware)), None)
        if self.fsm_key is None or fsm is None:
            middlewares.append(self)
        else:
            middlewares.insert(fsm, self)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        async with self.db.session() as session:
            token = current_session.set(session)
            try:
                user: User | None = data.get("event_from_user")
                from_person = user is not None and not user.is_bot
                # On PostgreSQL the claim runs inside the read of the person (a data-modifying WITH): one round
                # trip less per update. SQLite has no INSERT in a WITH: the claim is a statement of its own.
                together = from_person and session.bind.dialect.name == "postgresql"
                if not together and not await claim_update(session, event.update_id):
                    return _skipped(event)
                data["session"] = session
                person = None
                if user is not None and from_person:
                    fsm_key = self.fsm_key(data) if self.fsm_key is not None else None
                    found = await person_with_roles(
                        session, user.id, self.admin_ids, fsm_key=fsm_key, along=_claim_cte() if together else None,
                        along_params=_claim_params(event.update_id) if together else None)
                    if together and not found.along:  # the claim in the read found it claimed already
                        return _skipped(event)
                    person, data["roles"] = found.person, found.roles
                    if person is not None and person.unreachable_at is not None:
                        mark_reachable(person)
                    if found.linked and person.id is not None and not channels.is_whatsapp_chat(user.id):
                        await channels.seen_on_telegram(session, person.id, user.id)
                data["person"] = person
                # Plain value for the language middleware: the error handler runs after the session is gone.
                data["person_language"] = person.language if person is not None else None
                conversation.known(session).deferred = True  # the update's state changes: written once, below
                result = await handler(event, data)
                await conversation.flush(session)
                return result
            finally:
                current_session.reset(token)


def _skipped(update: Update) -> Any:
    log.info("update %s delivered again: skipped", update.update_id)
    return UNHANDLED


@functools.cache
def _claim_statement(dialect_name: str) -> Any:
    """The claim for a database, built on first use (see storage.db.dialect_module)."""
    # On the table, not the mapped class: the ORM's DML path doubled the cost of an update's first statement.
    table = ProcessedUpdate.__table__
    return (dialect_module(dialect_name).insert(table)
            .values(update_id=bindparam("update_id"), processed_at=bindparam("processed_at"))
            .on_conflict_do_nothing(index_elements=["update_id"]).returning(table.c.update_id))


def _claim_params(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "processed_at": utcnow()}


@functools.cache
def _claim_direct(dialect_name: str) -> Direct:
    return Direct(_claim_statement(dialect_name))


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Claim an update id with one INSERT … ON CONFLICT DO NOTHING (straight on the driver, ``storage.direct``);
    False when it was handled already."""
    return bool(await direct.rows(session, _claim_direct(session.bind.dialect.name), _claim_params(update_id)))


@functools.cache
def _claim_cte() -> Any:
    """The claim as a CTE for PostgreSQL (``person_with_roles(along=...)``): one object, so the query is built once."""
    return _claim_statement("postgresql").cte("update_claim")


def fsm_key_reader(dispatcher: Dispatcher) -> Callable[[dict[str, Any]], str | None] | None:
    """How the session middleware finds the FSM key of an update, when the state is kept in the database."""
    storage = dispatcher.fsm.storage
    if not isinstance(storage, DatabaseStorage):
        return None

    def read(data: dict[str, Any]) -> str | None:
        context = dispatcher.fsm.resolve_event_context(data["bot"], data)
        return storage.key_builder.build(context.key) if context is not None else None

    return read


class TextLengthMiddleware(BaseMiddleware):
    """A text over the limit gets a clear answer instead of being cut or dropped silently."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        text = event.text or event.caption or ""
        if len(text) > self.limit:
            language = data["i18n"].current_locale
            await event.answer(
                _("Your message is too long: {length} characters, and the limit is {limit}. "
                  "Please shorten it or send it in parts.").format(
                    length=format_decimal(len(text), locale=language),
                    limit=format_decimal(self.limit, locale=language),
                )
            )
            return UNHANDLED
        return await handler(event, data)
