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


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from bot.resilience import Outage

    outage = Outage(logging.getLogger("jamaat.test.jobs"), "outbox sender")
    with caplog.at_level(logging.INFO, logger="jamaat.test.jobs"):
        for _ in range(30):
            outage.failed(ConnectionResetError(104, "Connection reset by peer"))
        outage.ok()
        outage.ok()
        outage.failed(RuntimeError("a bug"))
    lines = [r for r in caplog.records if r.name == "jamaat.test.jobs"]
    assert [r.levelname for r in lines] == ["WARNING", "WARNING", "ERROR"]
    assert "trying again quietly" in lines[0].getMessage() and "30 failed runs" in lines[1].getMessage()
    assert lines[0].exc_info is None and lines[2].exc_info is not None
