"""Middlewares: each update once, a database session per update, the person and their roles."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal
from sqlalchemy.exc import IntegrityError

from services import channels
from services.people import mark_reachable, person_by_telegram_id
from services.roles import roles_of
from storage.db import Database, current_session
from storage.models import ProcessedUpdate

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class SessionMiddleware(BaseMiddleware):
    """One database session per update, committed when the handler returns. It first claims the update id:
    a second delivery of the same update is skipped, and a handler that fails gives its claim back with the
    rest of its work."""

    def __init__(self, db: Database, admin_ids: frozenset[int]) -> None:
        self.db = db
        self.admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        async with self.db.session() as session:
            try:
                async with session.begin_nested():
                    session.add(ProcessedUpdate(update_id=event.update_id))
            except IntegrityError:
                log.info("update %s delivered again: skipped", event.update_id)
                return UNHANDLED
            data["session"] = session
            token = current_session.set(session)
            try:
                user: User | None = data.get("event_from_user")
                person = None
                if user is not None and not user.is_bot:
                    person = await person_by_telegram_id(session, user.id)
                    if person is not None and person.unreachable_at is not None:
                        mark_reachable(person)
                    if person is not None and person.id is not None and not channels.is_whatsapp_chat(user.id):
                        await channels.seen_on_telegram(session, person.id, user.id)
                    data["roles"] = await roles_of(session, user.id, self.admin_ids)
                data["person"] = person
                # Plain value for the language middleware: the error handler runs after the session is gone.
                data["person_language"] = person.language if person is not None else None
                return await handler(event, data)
            finally:
                current_session.reset(token)


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
