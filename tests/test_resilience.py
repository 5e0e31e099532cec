"""Which failures are transient (retried with the update) and which are the code's own (apologised for)."""

from __future__ import annotations

import asyncpg
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramServerError
from aiogram.methods import SendMessage
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from bot.resilience import Attempt, RetryPolicy, current_attempt, is_transient

METHOD = SendMessage(chat_id=1, text="x")


def wrapped(error: BaseException, cls: type = OperationalError, **kwargs: object) -> BaseException:
    return cls("SELECT 1", {}, error, **kwargs)


@pytest.mark.parametrize("error", [
    ConnectionResetError(104, "Connection reset by peer"),
    ConnectionRefusedError(111, "Connect call failed"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"),
    wrapped(Exception("database is locked")),
    wrapped(Exception("server closed the connection"), connection_invalidated=True),
])
def test_infrastructure_failures_are_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    wrapped(Exception("UNIQUE constraint failed"), IntegrityError),
    wrapped(Exception("invalid byte sequence for encoding UTF8: 0x00"), DataError),
    OverflowError("Python int too large to convert to SQLite INTEGER"),
    RuntimeError("boom"),
    FileNotFoundError("no such file"),
    TelegramBadRequest(METHOD, "Bad Request: can't parse entities"),
])
def test_the_codes_own_failures_are_not(error: BaseException) -> None:
    assert not is_transient(error)


def test_a_bot_api_5xx_is_transient_only_before_anything_was_sent() -> None:
    error = TelegramServerError(METHOD, "Bad Gateway")
    assert not is_transient(error)  # outside an update: the sender's own policy decides
    attempt = Attempt(update_id=1)
    token = current_attempt.set(attempt)
    try:
        assert is_transient(error)
        attempt.sent = True
        assert not is_transient(error)  # a new attempt would send the first message twice
    finally:
        current_attempt.reset(token)


def test_backoff_doubles() -> None:
    assert list(RetryPolicy(attempts=5, first_delay=0.5).delays()) == [0.5, 1.0, 2.0, 4.0]
