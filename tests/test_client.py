"""bot/client.py: the bot's calls as Telegram gets them — JSON bodies, files as multipart — through the emulator."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import DiceEmoji, ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import CreateChatInviteLink, EditMessageText, SendDice, SendMessage, SetMyCommands
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    TelegramObject,
    Update,
    User,
)
from pydantic import PrivateAttr

from bot import client, objects
from bot.app import create_bot
from bot.client import JsonSession, loads_lean
from bot.emulator import Emulator, Limits
from bot.objects import flatten_post_init
from bot.settings import Settings


def _bot(emu: Emulator):  # noqa: ANN202
    return create_bot(Settings(bot_token=emu.token, api_base_url=emu.base_url, _env_file=None))


async def test_calls_go_as_json_and_files_as_form_data() -> None:
    async with Emulator() as emu:
        user = emu.user(7001, "Айгүл")
        bot = _bot(emu)
        try:
            button = InlineKeyboardButton(text="Көк-Ирим ✓", callback_data="v:1")
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[button]])
            sent = await bot.send_message(user.id, "<b>Салам</b> &amp; «кош келиңиз»", reply_markup=keyboard)
            assert sent.message_id and user.last.text == "Салам & «кош келиңиз»"
            assert user.last.inline_buttons[0] == {"text": "Көк-Ирим ✓", "callback_data": "v:1"}
            await bot.edit_message_text("Жаңы", chat_id=user.id, message_id=sent.message_id, reply_markup=None)
            assert user.last.text == "Жаңы" and not user.last.inline_buttons
            await bot.send_document(user.id, BufferedInputFile(b"a,b\n1,2\n", "t.csv"), caption="Отчёт")
            assert emu.stats.bodies["sendMessage"] == {"application/json": 1}
            assert emu.stats.bodies["editMessageText"] == {"application/json": 1}
            assert emu.stats.bodies["sendDocument"] == {"multipart/form-data": 1}
        finally:
            await bot.session.close()


async def test_a_first_file_leaves_the_calls_in_flight_alone() -> None:
    """aiogram resets its aiohttp session before the first call that goes through it (a file) by calling the
    session's close(): that must not close the kept-open connections of the JSON calls under way (it did: a
    villager's answer failed with 'closed by this client' when an event's calendar file went out meanwhile)."""
    async with Emulator() as emu:
        user = emu.user(7002, "Бакыт")
        bot = _bot(emu)
        try:
            await bot.send_message(user.id, "first")  # a kept-open connection
            gate = emu.hold("sendMessage")
            in_flight = asyncio.create_task(bot.send_message(user.id, "in flight"))
            await emu.wait_for(lambda: emu.inflight == 1)
            await bot.send_document(user.id, BufferedInputFile(b"a,b\n", "t.csv"))  # aiogram's first aiohttp call
            gate.set()
            sent = await in_flight
            assert sent.text == "in flight" and user.last.text == "in flight"
            assert (await bot.send_message(user.id, "after")).text == "after"
        finally:
            await bot.session.close()


async def test_a_result_is_read_as_aiogram_reads_it() -> None:
    """The result of a successful call is validated on its own (``bot.client._validated_result``), the same
    objects as through aiogram's ``Response[...]``: types, values and the bot they belong to."""
    async with Emulator() as emu:
        user = emu.user(7004, "Эркин")
        bot = _bot(emu)
        try:
            sent = await bot.send_message(user.id, "<b>Салам</b>")
            content = json.dumps({"ok": True, "result": sent.model_dump(mode="json", exclude_none=True)})
            through_aiogram = bot.session.check_response(bot, SendMessage(chat_id=user.id, text="x"), 200, content)
            assert sent == through_aiogram.result and type(sent.date) is type(through_aiogram.result.date)
            assert (await bot.get_me()).id == (await bot.get_me()).id and isinstance(await bot.get_me(), User)
            assert await bot.delete_message(user.id, sent.message_id) is True
        finally:
            await bot.session.close()


def test_a_calls_body_is_what_aiogram_would_send() -> None:
    """``JsonSession.payload`` leaves out what aiogram's ``prepare_value`` leaves out and converts what it
    converts (the bot's defaults, dates, enums), the faster way."""
    session = JsonSession()
    bot = Bot("123456:TEST", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="Көк-Ирим ✓", callback_data="v:1"), InlineKeyboardButton(text="🌐", url="https://x.kg")]])
    calls = [
        SendMessage(chat_id=5, text="<b>Салам</b>", reply_markup=keyboard, disable_notification=False),
        SendMessage(chat_id=5, text="", parse_mode=None, link_preview_options=LinkPreviewOptions(is_disabled=True)),
        EditMessageText(chat_id=5, message_id=9, text="x", reply_markup=None),
        CreateChatInviteLink(chat_id=-100, expire_date=datetime(2026, 12, 1, 9, 30, tzinfo=UTC), member_limit=3),
        SendDice(chat_id=5, emoji=DiceEmoji.DICE),
        SetMyCommands(commands=[BotCommand(command="vote", description="Добуш берүү")],
                      scope=BotCommandScopeChat(chat_id=5)),
    ]
    for method in calls:
        files: dict = {}
        expected = {}
        for key, value in method.model_dump(warnings=False).items():  # aiogram's own way, as the form sends it
            value = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if value is not None and value != "":
                expected[key] = value
        assert session.payload(bot, method) == (expected, {}), method
    assert session.payload(bot, calls[0])[0]["parse_mode"] == "HTML"
    assert session.payload(bot, calls[3])[0]["expire_date"] == str(round(calls[3].expire_date.timestamp()))


async def test_errors_are_aiograms_own() -> None:
    async with Emulator(limits=Limits(private_burst=1)) as emu:
        user = emu.user(7002, "Бакыт")
        bot = _bot(emu)
        try:
            try:
                await bot.send_message(user.id, "")
            except TelegramBadRequest as error:
                assert "empty" in error.message
                assert SendMessage in client._PINNED  # its Response[...] class kept for the next error answer
            else:
                raise AssertionError("an empty text was accepted")
            await bot.send_message(user.id, "бир")
            try:
                await bot.send_message(user.id, "эки")
            except TelegramRetryAfter as error:
                assert error.retry_after >= 1
            else:
                raise AssertionError("the chat's limit was not applied")
        finally:
            await bot.session.close()


async def test_the_bots_own_keyboards_are_not_read_back() -> None:
    """The bot never reads back a keyboard it sent; aiogram would validate every button of it, at every call and
    every tap. A tapped button's message keeps its text and formatting."""
    async with Emulator() as emu:
        user = emu.user(7003, "Нургүл")
        bot = _bot(emu)
        try:
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Ооба", callback_data="y")]])
            sent = await bot.send_message(user.id, "<b>Суроо</b>: барасызбы?", reply_markup=keyboard)
            assert sent.message_id and sent.text == "Суроо: барасызбы?" and sent.chat.id == user.id
            assert isinstance(sent, Message) and sent.bot is bot and sent.chat.bot is bot  # aiogram's context
            assert sent.reply_markup is None and sent.entities is None
            edited = await bot.edit_message_text("<i>Жаңы</i> суроо", chat_id=user.id, message_id=sent.message_id,
                                                 reply_markup=keyboard)
            assert edited.text == "Жаңы суроо" and edited.reply_markup is None and edited.entities is None
            assert user.last.inline_buttons[0] == {"text": "Ооба", "callback_data": "y"}  # Telegram has it all

            await user.tap("Ооба", wait=False)
            updates = await bot.get_updates(timeout=0)
            message = updates[-1].callback_query.message
            assert updates[-1].callback_query.data == "y" and message.message_id == sent.message_id
            assert message.html_text == "<i>Жаңы</i> суроо" and message.reply_markup is None
            assert updates[-1].bot is bot and message.bot is bot
            assert await bot.answer_callback_query(updates[-1].callback_query.id) is True
        finally:
            await bot.session.close()


def test_a_webhook_update_is_read_the_same_way() -> None:
    update = ('{"update_id": 9, "callback_query": {"id": "1", "data": "y", "chat_instance": "c", '
              '"from": {"id": 5, "is_bot": false, "first_name": "Азамат"}, "message": {"message_id": 3, "date": 1, '
              '"chat": {"id": 5, "type": "private"}, "text": "Суроо", "entities": [{"type": "bold", "offset": 0, '
              '"length": 5}], "reply_markup": {"inline_keyboard": [[{"text": "Ооба", "callback_data": "y"}]]}}}}')
    message = loads_lean(update)["callback_query"]["message"]
    assert "reply_markup" not in message and message["entities"][0]["type"] == "bold"
    assert loads_lean('{"update_id": 10, "message": {"message_id": 4, "date": 1, "chat": {"id": 5, "type": '
                      '"private"}, "text": "hi", "reply_markup": {"x": 1}}}')["message"]["reply_markup"] == {"x": 1}


def test_aiograms_objects_are_set_up_once_as_pydantic_would() -> None:
    """bot.objects: one post-init instead of pydantic's chain of wrappers, with the same private attributes."""
    class Own(TelegramObject):  # a post-init of its own: left as it is
        _seen: list[Any] = PrivateAttr(default_factory=list)

        def model_post_init(self, context: Any, /) -> None:
            super().model_post_init(context)
            self._seen.append(context)

    class Plain(TelegramObject):  # defined after aiogram's: flattened by the next call
        name: str

    create_bot(Settings(bot_token="42:" + "a" * 35, _env_file=None))  # flattens what is defined so far
    for kind in (Plain, Message, User, Update, CallbackQuery, InlineKeyboardButton, SendMessage, EditMessageText):
        assert kind.model_post_init is objects._post_init, kind
        assert kind in objects.REPLACED
    assert Own.model_post_init is not objects._post_init and Own not in objects.REPLACED
    assert flatten_post_init() == 0  # nothing new to change

    bot = Bot("42:" + "a" * 35)
    raw = {"message_id": 5, "date": 1, "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": False,
                                                                                     "first_name": "Айгүл"}}
    for context in ({"bot": bot}, {}, None, {"other": 1}):
        message = Message.model_validate(raw, context=context)
        for got in (message, message.chat, message.from_user):
            kind = type(got)
            fields = {name: getattr(got, name) for name in kind.model_fields}
            expected = kind.model_construct(**fields)
            object.__setattr__(expected, "__pydantic_private__", None)
            objects.REPLACED[kind](expected, context)  # pydantic's chain
            assert got.__pydantic_private__ == expected.__pydantic_private__, (kind, context)
            assert got.bot is (bot if context and "bot" in context else None)
            got.model_post_init({"bot": bot})  # set up again, on what is set already: as pydantic would
            objects.REPLACED[kind](expected, {"bot": bot})
            assert got.__pydantic_private__ == expected.__pydantic_private__ == {"_bot": bot}
    assert Plain(name="x").bot is None and Plain.model_validate({"name": "x"}, context={"bot": bot}).bot is bot
    call = SendMessage(chat_id=7, text="x")
    assert call.bot is None and call.as_(bot).bot is bot and call.model_copy().bot is bot
    own = Own.model_validate({}, context={"bot": bot})
    assert own._seen == [{"bot": bot}] and own.bot is bot
