"""Transient failures lose nothing.

- An update whose handling fails on a transient infrastructure error (the database connection lost or reset,
  SQLite busy, Redis unreachable, the Bot API failing before anything was sent) is handled again from scratch
  with backoff: each attempt is a fresh ``feed_update``, so a fresh transaction and a fresh update-id claim.
- When every attempt of a delivery failed: over the webhook the answer is an error (HTTP 500), so Telegram
  delivers the update again (the update-id claim keeps it once); in polling, where Telegram counts an update
  as delivered once the next getUpdates moves past it, the update is fed again here after a pause. Only when
  ``update_deliveries`` deliveries (or rounds) failed is the update given up, and only then does the person
  get the apology (``handlers.errors.apologise``).
- Every Bot API call made while handling an update honours a 429's ``retry_after`` and retries a 5xx a few
  times (the outbox sender, outside updates, keeps its own policy). An edit that changes nothing ("message is
  not modified") is a success, and so is answering a callback query that was answered already.
- A bare answer to a tapped button, and an edit or a command menu a handler marks with ``aside``, go out beside
  the rest of the update's work instead of before it (``bot.attempt``); the attempt waits for them before it
  ends. Their failure is logged, not the update's.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from aiogram.utils.i18n import gettext as _
from sqlalchemy import exc as sa_exc

from bot.attempt import Attempt, current_attempt, describe, goes_aside

if TYPE_CHECKING:
    from aiogram.methods import Response
    from aiogram.utils.i18n import I18n

log = logging.getLogger("jamaat.resilience")

def _asyncpg_errors() -> tuple[type[BaseException], ...]:
    """asyncpg's connection errors, once asyncpg is loaded (SQLAlchemy imports it with a PostgreSQL engine; a bot
    on SQLite never loads it, and then no asyncpg error can happen)."""
    exceptions = sys.modules.get("asyncpg.exceptions")
    if exceptions is None:
        return ()
    return (
        exceptions.ConnectionDoesNotExistError,
        exceptions.CannotConnectNowError,
        exceptions.PostgresConnectionError,
        exceptions.OperatorInterventionError,  # admin shutdown, pg_terminate_backend
        exceptions.InterfaceError,
        exceptions.TooManyConnectionsError,
    )


def _redis_errors() -> tuple[type[BaseException], ...]:
    """Redis's connection errors, once redis is loaded (it is imported only when configured; without it no
    Redis error can happen)."""
    exceptions = sys.modules.get("redis.exceptions")
    if exceptions is None:
        return ()
    return (exceptions.ConnectionError, exceptions.TimeoutError)


_OS = (ConnectionError, TimeoutError, socket.gaierror)
_QUERY_ANSWERED = ("query is too old", "query id is invalid")
_INVISIBLE = ("get", "answerCallbackQuery", "sendChatAction")  # calls that a new attempt may repeat


_redeliverable: ContextVar[bool] = ContextVar("jamaat_update_redeliverable", default=False)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the driver's error a SQLAlchemy error wraps."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def is_transient(exc: BaseException) -> bool:
    """Infrastructure that may be back in a moment, with nothing done that a new attempt would repeat wrongly."""
    for error in causes(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free
            return True
        if isinstance(error, sa_exc.OperationalError) and "database is locked" in str(error):
            return True
        if isinstance(error, _asyncpg_errors() + _redis_errors() + _OS):
            return True
        if type(error) is OSError:  # "Multiple exceptions: [Errno 111] Connect call failed", unreachable network
            return True
        if isinstance(error, TelegramServerError | TelegramNetworkError):
            attempt = current_attempt.get()
            return attempt is not None and not attempt.sent
    return False


class Outage:
    """What a background job says about its failures: one line when its database (or Redis, or the Bot API) goes
    away, one when it is back, and nothing in between; any other failure with its traceback, every time."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> None:
        if not is_transient(exc):
            self.logger.error("%s failed", self.what, exc_info=exc)
            return
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            self.logger.warning("%s: %s; trying again quietly until it is back", self.what, _short(exc))

    def ok(self) -> None:
        if self.since is not None:
            self.logger.warning("%s: back after %.0f s (%s failed runs)", self.what, time.monotonic() - self.since,
                                self.failures)
            self.since, self.failures = None, 0


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


@dataclass
class RetryPolicy:
    """How hard an update is tried: ``attempts`` per delivery with backoff from ``first_delay`` (doubling),
    ``deliveries`` deliveries (webhook) or rounds ``pause`` seconds apart (polling) before giving up."""

    attempts: int = 5
    first_delay: float = 0.5
    deliveries: int = 5
    pause: float = 15.0
    api_retries: int = 3
    api_max_wait: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay
        for _attempt in range(self.attempts - 1):
            yield delay
            delay *= 2


class UpdateDeferred(Exception):
    """The update could not be handled now; the webhook answers an error so Telegram delivers it again."""


@dataclass
class _Failures:
    """Failed deliveries per update id (bounded), to give an update up after a few."""

    limit: int = 10_000
    counts: OrderedDict[int, int] = field(default_factory=OrderedDict)

    def add(self, update_id: int) -> int:
        count = self.counts.pop(update_id, 0) + 1
        self.counts[update_id] = count
        while len(self.counts) > self.limit:
            self.counts.popitem(last=False)
        return count

    def forget(self, update_id: int) -> None:
        self.counts.pop(update_id, None)


class ResilientDispatcher(Dispatcher):
    """aiogram's dispatcher, feeding an update again while it fails on a transient error."""

    def __init__(self, *, policy: RetryPolicy, i18n: I18n, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self.i18n = i18n
        self.failures = _Failures()

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        redeliverable = _redeliverable.get()
        rounds = 0
        while True:
            try:
                result = await self._attempts(bot, update, **kwargs)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                failures = self.failures.add(update.update_id)
                if failures >= self.policy.deliveries:
                    self.failures.forget(update.update_id)
                    log.error("update %s given up after %s deliveries: %s", update.update_id, failures, _short(exc))
                    await self.give_up(bot, update)
                    return None
                if redeliverable:
                    log.warning("update %s failed (%s): answered with an error so that it comes again",
                                update.update_id, _short(exc))
                    raise UpdateDeferred(f"update {update.update_id}: {_short(exc)}") from None
                rounds += 1
                log.warning("update %s failed (%s): trying again in %g s", update.update_id, _short(exc),
                            self.policy.pause)
                await asyncio.sleep(self.policy.pause)
                continue
            self.failures.forget(update.update_id)
            return result

    async def _attempts(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        delays = self.policy.delays()
        number = 0
        while True:
            number += 1
            attempt = Attempt(update.update_id, number)
            token = current_attempt.set(attempt)
            try:
                try:
                    result = await super().feed_update(bot, update, **kwargs)
                except asyncio.CancelledError:
                    attempt.abandon()
                    raise
                except Exception:
                    await attempt.settle()
                    raise
                await attempt.settle()
                return result
            except Exception as exc:
                delay = next(delays, None) if is_transient(exc) else None
                if delay is None:
                    raise
                log.warning("update %s, attempt %s: %s; again in %g s", update.update_id, number, _short(exc), delay)
            finally:
                current_attempt.reset(token)
            await asyncio.sleep(delay)

    async def feed_webhook_update(self, bot: Bot, update: Update | dict[str, Any], _timeout: float = 55,
                                  **kwargs: Any) -> Any:
        token = _redeliverable.set(True)
        try:
            return await super().feed_webhook_update(bot, update, _timeout, **kwargs)
        finally:
            _redeliverable.reset(token)

    async def give_up(self, bot: Bot, update: Update) -> None:
        user = _user_of(update)
        language = (user.language_code or "").split("-")[0] if user is not None and user.language_code else ""
        if language not in self.i18n.available_locales:
            language = self.i18n.default_locale
        with self.i18n.context(), self.i18n.use_locale(language):
            await apologise(bot, update)


async def apologise(bot: Bot, update: Update) -> None:
    """The one apology, in a private chat only (a group never hears about one person's failure)."""
    chat_id = None
    if update.message is not None and update.message.chat.type == "private":
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if chat_id is None:
        return
    try:
        await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again "
                                          "in a minute; what you entered before is kept."))
    except TelegramAPIError as exc:
        log.warning("could not apologise for update %s: %s", update.update_id, exc)


def _user_of(update: Update) -> Any:
    try:
        return getattr(update.event, "from_user", None)
    except Exception:  # noqa: BLE001 - an update kind aiogram does not know
        return None


class BotApiPolicy(BaseRequestMiddleware):
    """Bot API calls: unchanged edits and already answered queries are successes; inside an update, 429s wait
    their ``retry_after`` and 5xx answers are tried again a few times."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        attempt = current_attempt.get()
        if attempt is not None:
            if goes_aside(method):
                attempt.put_aside(method, self._aside(make_request, bot, method, attempt))
                return True  # type: ignore[return-value] - what these calls answer when nothing else is asked
            await attempt.in_turn(method)
        return await self._send(make_request, bot, method, attempt)

    async def _send(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                    method: TelegramMethod[TelegramType], attempt: Attempt | None) -> Response[TelegramType]:
        """The call, with the policy (``attempt``: the update's, if it is made while handling one)."""
        retries = 0
        delay = self.policy.first_delay
        while True:
            try:
                result = await make_request(bot, method)
            except TelegramBadRequest as exc:
                message = exc.message.lower()
                if "message is not modified" in message:
                    return True  # type: ignore[return-value] - what an edit answers when nothing else is asked
                if isinstance(method, AnswerCallbackQuery) and any(part in message for part in _QUERY_ANSWERED):
                    log.info("callback query %s answered already or too old", method.callback_query_id)
                    return True  # type: ignore[return-value]
                raise
            except TelegramRetryAfter as exc:
                if attempt is None or retries >= self.policy.api_retries or exc.retry_after > self.policy.api_max_wait:
                    raise
                retries += 1
                log.warning("%s: 429, retry after %s s", method.__api_method__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramServerError as exc:
                if attempt is None or retries >= self.policy.api_retries:
                    raise
                retries += 1
                log.warning("%s: %s; again in %g s", method.__api_method__, exc.message, delay)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if attempt is not None and not method.__api_method__.startswith(_INVISIBLE):
                attempt.sent = True
            return result

    async def _aside(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                     method: TelegramMethod[TelegramType], attempt: Attempt) -> None:
        """A call in flight beside its update (``bot.attempt``; the policy above: 429s wait, 5xx are retried)."""
        try:
            await self._send(make_request, bot, method, attempt)
        except TelegramAPIError as exc:
            log.warning("%s, beside update %s, failed: %s", describe(method), attempt.update_id, exc)
