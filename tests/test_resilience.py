"""Which failures are transient (retried with the update) and which are the code's own (apologised for)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine

import asyncpg
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramServerError
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SetMyCommands
from aiogram.types import BotCommandScopeChat
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from bot.attempt import Attempt, _marked, aside, current_attempt, goes_aside
from bot.resilience import RetryPolicy, is_transient
from services.channels import WHATSAPP_BASE
from storage.voting import Ballot
from tests.harness import Harness
from tests.test_voting_services import add_villager, protocol_round

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


def test_what_goes_aside() -> None:
    """A bare answer always; an edit or a command menu when the handler marks it; never a new message (the chat
    keeps its order), nor anything to a WhatsApp chat (where an edit arrives as a new message)."""
    edit = EditMessageText(chat_id=3406, message_id=7, text="Language: English ✓")
    menu = SetMyCommands(commands=[], scope=BotCommandScopeChat(chat_id=3406))
    assert goes_aside(AnswerCallbackQuery(callback_query_id="1"))
    assert not goes_aside(AnswerCallbackQuery(callback_query_id="1", text="This button is no longer active."))
    assert not goes_aside(AnswerCallbackQuery(callback_query_id="1", show_alert=True))
    assert not goes_aside(AnswerCallbackQuery(callback_query_id="1", url="https://t.me/jamaat_bot?start=x"))
    assert not goes_aside(edit) and not goes_aside(menu) and not goes_aside(METHOD)  # not marked: awaited
    token = _marked.set(True)
    try:
        assert goes_aside(edit) and goes_aside(menu)
        assert goes_aside(AnswerCallbackQuery(callback_query_id="1", text="Your ballot is counted."))
        assert not goes_aside(METHOD)
        assert not goes_aside(EditMessageText(chat_id=WHATSAPP_BASE + 5, message_id=7, text="x"))
    finally:
        _marked.reset(token)


def recorded(gate: asyncio.Event, done: list[str]) -> Callable[..., Coroutine[None, None, None]]:
    """A stand-in for a Bot API call set aside: it notes its name in ``done`` when through, held until ``gate``
    opens when it is to ``wait``."""

    async def call(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        done.append(name)

    return call


async def test_calls_aside_keep_their_chats_order() -> None:
    """Two calls aside to one chat go out one after the other, and a later call to that chat waits for them;
    another chat's call does not."""
    attempt = Attempt(update_id=1)
    gate, done = asyncio.Event(), []
    call = recorded(gate, done)
    edit = EditMessageText(chat_id=1, message_id=7, text="x")
    attempt.put_aside(edit, call("first edit", wait=True))
    attempt.put_aside(edit, call("second edit"))
    attempt.put_aside(EditMessageText(chat_id=2, message_id=7, text="x"), call("other chat"))
    await asyncio.sleep(0.01)
    assert done == ["other chat"]
    await attempt.in_turn(SendMessage(chat_id=2, text="x"))  # nothing in flight there: at once
    waiting = asyncio.create_task(attempt.in_turn(SendMessage(chat_id=1, text="x")))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    gate.set()
    await waiting
    assert done == ["other chat", "first edit", "second edit"]
    await attempt.settle()
    assert attempt.beside == []


async def test_a_command_menu_aside_does_not_hold_back_the_chats_messages() -> None:
    """A person's command menu is not a message of the chat: a new message there does not wait for the menu in
    flight (at the end of a registration: the welcome, one round trip to Telegram sooner), a second menu does."""
    attempt = Attempt(update_id=1)
    gate, done = asyncio.Event(), []
    call = recorded(gate, done)
    attempt.put_aside(SetMyCommands(commands=[], scope=BotCommandScopeChat(chat_id=1)), call("menu", wait=True))
    await asyncio.wait_for(attempt.in_turn(SendMessage(chat_id=1, text="Thank you, you are registered")), 1)
    await asyncio.wait_for(attempt.in_turn(EditMessageText(chat_id=1, message_id=7, text="x")), 1)
    waiting = asyncio.create_task(attempt.in_turn(SetMyCommands(commands=[], scope=BotCommandScopeChat(chat_id=1))))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the person's menus still change in the order they were set
    gate.set()
    await waiting
    assert done == ["menu"]
    await attempt.settle()


async def test_a_receipt_goes_out_beside_the_ballots_commit(bot: Harness) -> None:
    """A confirmed ballot's receipt is an edit set aside: the ballot is committed while the receipt is still on its
    way (on a slow network, the update's work no longer waits for it), and the tap ends once it is through."""
    round_id, _problems = await protocol_round(bot.db)
    await add_villager(bot.db, 3407, "aral")
    voter = bot.user(3407, language_code="en")
    await voter.send("/vote")
    await voter.tap(index=0)
    await voter.tap(contains="Next")
    gate = bot.emu.hold("editMessageText")
    tap = asyncio.create_task(voter.tap(contains="Confirm"))
    for _ in range(200):
        async with bot.db.session() as session:
            if await session.scalar(select(func.count(Ballot.id)).where(Ballot.round_id == round_id)):
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the ballot was not committed while its receipt was held")
    assert not tap.done() and "Receipt code" not in (voter.last.text or "")
    gate.set()
    await tap
    assert "Receipt code" in (voter.last.text or "")


async def test_an_edit_aside_still_comes_before_the_next_message(bot: Harness) -> None:
    """"Language: English ✓" is set aside, but the phone question that follows it waits for it: the person sees
    the same order as before."""
    user = bot.user(3408, language_code="en", phone="+996700003408")
    await user.send("/start")
    gate = bot.emu.hold("editMessageText")
    tap = asyncio.create_task(user.tap("English"))
    await asyncio.sleep(0.3)
    assert user.last.text == "Choose your language:" and user.reply_keyboard is None
    gate.set()
    await tap
    assert "Share my phone number" in user.reply_keyboard[0][0]
    assert [m.text for m in user.messages][-2:] == ["Language: English ✓", user.last.text]


async def test_a_call_aside_outside_an_update_is_awaited_and_its_failure_logged(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    assert bot.app is not None
    with caplog.at_level(logging.WARNING, logger="jamaat.resilience"):
        await aside(bot.app.bot.edit_message_text(chat_id=3409, message_id=404, text="x"))
    assert any("editMessageText in chat 3409 failed" in r.getMessage() for r in caplog.records)
