"""Which failures are transient (retried with the update) and which are the code's own (apologised for)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramServerError
from aiogram.methods import AnswerCallbackQuery, SendMessage
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from bot.resilience import Attempt, RetryPolicy, _bare_answer, current_attempt, is_transient
from tests.harness import Harness

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


async def test_a_bare_callback_answer_goes_out_beside_the_reply(bot: Harness) -> None:
    """A tapped button's bare answer (it only stops the spinner) does not hold the reply up on a slow network:
    the reply comes while the answer is still on its way, and the update ends once the answer is through."""
    user = bot.user(3406, language_code="en", phone="+996700003406")
    await user.send("/start")
    gate = bot.emu.hold("answerCallbackQuery")
    tap = asyncio.create_task(user.tap("English"))
    await bot.emu.wait_for(lambda: "share your phone number" in (user.last.text or ""))
    assert user.callback_answers == []
    assert not tap.done()  # the update is not over while its answer is in flight
    gate.set()
    await tap
    assert user.callback_answers == [(None, False)]
    await user.share_contact()
    assert "aiyl aimak" in (user.last.text or "").lower()


def test_only_a_bare_answer_goes_beside() -> None:
    """An answer that shows something (a notice, an alert, a link) is awaited where the handler gives it."""
    assert _bare_answer(AnswerCallbackQuery(callback_query_id="1"))
    assert not _bare_answer(AnswerCallbackQuery(callback_query_id="1", text="This button is no longer active."))
    assert not _bare_answer(AnswerCallbackQuery(callback_query_id="1", show_alert=True))
    assert not _bare_answer(AnswerCallbackQuery(callback_query_id="1", url="https://t.me/jamaat_bot?start=x"))
    assert not _bare_answer(METHOD)
