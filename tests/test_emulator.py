"""The Bot API emulator against a plain aiogram Bot and a bare Dispatcher, over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.emulator import Emulator, Limits, parse_html, tiny_png
from bot.emulator.api import clone

USER = 1001


def make_bot(emu: Emulator, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(token or emu.token, session=session)


def echo_router(seen: list[int] | None = None) -> Router:
    """A tiny bot: /start with an inline keyboard, a contact flow, files and echo."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Кыргызча", callback_data="lang:ky"),
                    InlineKeyboardButton(text="Русский", callback_data="lang:ru"),
                ],
                [InlineKeyboardButton(text="Alert me", callback_data="alert")],
            ]
        )
        await message.answer(f"Hello, <b>{message.from_user.first_name}</b>! {command.args or ''}".strip(),
                             parse_mode="HTML", reply_markup=keyboard)

    @router.callback_query(F.data.startswith("lang:"))
    async def language(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Language: {query.data.removeprefix('lang:')}")
        await query.answer("Saved")

    @router.callback_query(F.data == "alert")
    async def alert(query: CallbackQuery) -> None:
        await query.answer("Careful!", show_alert=True)

    @router.callback_query()
    async def other(query: CallbackQuery) -> None:
        await query.answer(f"unknown {query.data}")

    @router.message(F.text == "/phone")
    async def ask_phone(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="Share my phone", request_contact=True)],
                [KeyboardButton(text="Cancel")],
            ],
            resize_keyboard=True,
        )
        await message.answer("Your phone, please", reply_markup=keyboard)

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact and message.from_user
        own = message.contact.user_id == message.from_user.id
        text = f"phone {message.contact.phone_number} own={own}"
        await message.answer(text, reply_markup=ReplyKeyboardRemove())

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        assert message.photo
        largest = message.photo[-1]
        data = await bot.download(largest)
        assert data is not None
        size = len(data.read())
        await message.answer_photo(largest.file_id, caption=f"{largest.width}x{largest.height} {size} bytes")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document
        data = await bot.download(message.document)
        assert data is not None
        content = data.read()
        await message.answer_document(BufferedInputFile(content.upper(), filename="upper.txt"), caption="done")

    @router.message(F.text)
    async def echo(message: Message) -> Any:
        if seen is not None:
            seen.append(message.message_id)
        return message.answer(f"echo: {message.text}")

    return router


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(timeout=5) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


async def start_polling(emu: Emulator, router: Router) -> tuple[Dispatcher, asyncio.Task[None]]:
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(make_bot(emu), handle_as_tasks=False, polling_timeout=5, handle_signals=False)
    )
    await emu.wait_for(lambda: emu.polling)
    return dispatcher, polling


@pytest.fixture
async def polling_bot(emu: Emulator) -> AsyncIterator[list[int]]:
    seen: list[int] = []
    dispatcher, task = await start_polling(emu, echo_router(seen))
    yield seen
    await dispatcher.stop_polling()
    await task


async def test_get_me_wrong_token_and_unknown_method(emu: Emulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (7000000001, "jamaat_bot", "Jamaat", True)

    intruder = make_bot(emu, token="999:WRONG")
    with pytest.raises(TelegramUnauthorizedError):
        await intruder.get_me()
    await intruder.session.close()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendUnicorn") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{emu.base_url}/bot{emu.token}/GETME") as response:
            assert (await response.json())["result"]["username"] == "jamaat_bot"
    assert emu.unknown_methods["sendUnicorn"] == 1


async def test_long_polling_offsets_and_conflict(emu: Emulator, bot: Bot) -> None:
    user = emu.user(USER, "Aibek")
    assert await bot.get_updates(timeout=0) == []
    first = await user.send("one", wait=False)
    await user.send("two", wait=False)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["one", "two"]
    assert [u.update_id for u in await bot.get_updates(offset=first["update_id"] + 1)] == [updates[1].update_id]
    assert await bot.get_updates(offset=updates[1].update_id + 1, timeout=0) == []

    waiting = asyncio.create_task(bot.get_updates(offset=updates[1].update_id + 1, timeout=5))
    await emu.wait_for(lambda: emu.polling)
    await user.send("three", wait=False)
    (update,) = await asyncio.wait_for(waiting, 2)
    assert update.message and update.message.text == "three"
    assert update.message.from_user and update.message.from_user.first_name == "Aibek"

    older = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=5))
    await emu.wait_for(lambda: emu.polling)
    newer = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await older
    assert await newer == []


async def test_start_tap_edit_and_callback_answers(emu: Emulator, polling_bot: list[int]) -> None:
    user = emu.user(USER, "Aibek", language_code="ky")
    await user.send("/start promo42")
    assert user.last.text == "Hello, Aibek! promo42"
    assert user.last.entities == [{"offset": 7, "length": 5, "type": "bold"}]
    assert user.last.parse_mode == "HTML"
    assert user.last.buttons == [["Кыргызча", "Русский"], ["Alert me"]]
    assert user.last.callback_data("Русский") == "lang:ru"
    start_update = user.history[0].raw
    assert start_update["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]

    await user.tap("Кыргызча")
    assert user.last.text == "Language: ky"
    assert user.last.edited and user.last.buttons == []
    assert user.last.edits[0]["text"] == "Hello, Aibek! promo42"
    assert user.texts == ["Language: ky"]
    assert user.last_answer == ("Saved", False)

    await user.send("/start")
    await user.tap(index=-1)
    await user.tap(contains="Alert")
    await user.tap_data("forged:data")
    assert user.callback_answers == [
        ("Saved", False),
        ("Careful!", True),
        ("Careful!", True),
        ("unknown forged:data", False),
    ]

    with pytest.raises(AssertionError, match="Alert me"):
        await user.tap("Deutsch")


async def test_edit_errors_and_delete(emu: Emulator, bot: Bot) -> None:
    emu.user(USER)
    sent = await bot.send_message(USER, "draft")
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text(text="draft", chat_id=USER, message_id=sent.message_id)
    edited = await bot.edit_message_text(text="final", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=999)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="ok")]])
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=markup)
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    assert emu.user(USER).messages == []


async def test_reply_keyboard_with_contact_button(emu: Emulator, polling_bot: list[int]) -> None:
    user = emu.user(USER, "Aibek", phone="+996700100001")
    await user.send("/phone")
    assert user.last.reply_keyboard == [["Share my phone"], ["Cancel"]]
    assert user.reply_keyboard == [["Share my phone"], ["Cancel"]]
    await user.tap("Share my phone")
    assert user.last.text == "phone +996700100001 own=True"
    assert user.last.keyboard_removed and user.reply_keyboard is None
    assert user.history[-2].raw["contact"]["user_id"] == USER

    await user.share_contact("+996555000111", user_id=None)
    assert user.last.text == "phone +996555000111 own=False"
    await user.share_contact("+996555000222", user_id=4242)
    assert user.last.text == "phone +996555000222 own=False"


async def test_photo_and_document_upload_and_download(emu: Emulator, polling_bot: list[int]) -> None:
    user = emu.user(USER)
    png = tiny_png(120, 60)
    await user.send_photo(png)
    assert user.last.caption == f"120x60 {len(png)} bytes"
    assert user.last.photo is not None and user.last.photo.data == png
    assert (user.last.photo.width, user.last.photo.height) == (120, 60)
    assert [(s["width"], s["height"]) for s in user.last.raw["photo"]] == [(90, 45), (120, 60)]

    await user.send_document(b"hello file", "note.txt")
    document = user.last.document
    assert document is not None
    assert (document.data, document.filename, document.mime_type) == (b"HELLO FILE", "upper.txt", "text/plain")
    assert user.last.text == "done"


async def test_send_document_upload_and_get_file(emu: Emulator, bot: Bot) -> None:
    emu.user(USER)
    report = BufferedInputFile(b"%PDF-1.4 report", filename="report.pdf")
    sent = await bot.send_document(USER, report, caption="r")
    assert sent.document and sent.document.file_name == "report.pdf"
    assert sent.document.mime_type == "application/pdf"
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path and file.file_path.endswith(".pdf")
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 report"
    again = await bot.send_document(USER, sent.document.file_id)
    assert again.document and again.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file")


async def test_callback_data_limit_is_64_bytes(emu: Emulator, bot: Bot) -> None:
    emu.user(USER)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="b", callback_data=data)]])

    await bot.send_message(USER, "ok", reply_markup=keyboard("ы" * 32))
    for data in ("ы" * 33, "x" * 65, ""):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(USER, "too long", reply_markup=keyboard(data))


async def test_rate_limits_answer_429_with_retry_after(bot: Bot) -> None:
    async with Emulator(limits=Limits(private_per_second=1.0, private_burst=2)) as emu:
        limited = make_bot(emu)
        emu.user(USER)
        await limited.send_message(USER, "1")
        await limited.send_message(USER, "2")
        with pytest.raises(TelegramRetryAfter) as caught:
            await limited.send_message(USER, "3")
        assert caught.value.retry_after == 1
        await limited.send_chat_action(USER, "typing")
        assert emu.stats.rate_limited == 1
        assert emu.stats.count("ok", "sendMessage") == 2
        await asyncio.sleep(caught.value.retry_after)
        await limited.send_message(USER, "3")
        await limited.session.close()


async def test_group_limit_and_injected_429(emu: Emulator, bot: Bot) -> None:
    group = emu.group(-100123, title="Lawyers")
    other = emu.user(2002)
    emu.inject_429(2, retry_after=1, chat_id=group.chat_id)
    await bot.send_message(other.id, "not affected")
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(group.chat_id, "hi group")
        assert caught.value.retry_after == 1
    await bot.send_message(group.chat_id, "hi group")
    assert group.texts == ["hi group"]
    assert emu.stats.count("429", "sendMessage") == 2

    async with Emulator(limits=Limits(group_per_minute=2)) as limited_emu:
        limited = make_bot(limited_emu)
        limited_emu.group(-100, title="Busy")
        await limited.send_message(-100, "a")
        await limited.send_message(-100, "b")
        with pytest.raises(TelegramRetryAfter) as window:
            await limited.send_message(-100, "c")
        assert 59 <= window.value.retry_after <= 60
        await limited.session.close()


async def test_blocked_user_gets_403(emu: Emulator, bot: Bot) -> None:
    emu.user(USER)
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    emu.unblock(USER)
    await bot.send_message(USER, "hello again")
    assert emu.stats.forbidden == 1 and emu.stats.ok >= 1


async def test_bad_request_shapes(emu: Emulator, bot: Bot) -> None:
    emu.user(USER)
    cases = [
        ({"chat_id": 5555, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": USER, "text": "  "}, "Bad Request: message text is empty"),
        ({"chat_id": USER, "text": "я" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": USER, "text": "<b>x", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"chat_id": USER, "text": "<div>x</div>", "parse_mode": "HTML"}, 'Unsupported start tag "div"'),
        ({"chat_id": USER, "text": "a <b>x</i>", "parse_mode": "HTML"}, "Unexpected end tag at byte offset 6"),
        ({"chat_id": USER, "text": "Tom & Jerry", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"chat_id": USER, "text": "1 < 2", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
    ]
    async with aiohttp.ClientSession() as http:
        for params, description in cases:
            async with http.post(f"{emu.base_url}/bot{emu.token}/sendMessage", json=params) as response:
                body = await response.json()
            assert response.status == 400, params
            assert body["ok"] is False and body["error_code"] == 400
            assert description in body["description"], (params, body)
        form = aiohttp.FormData({"chat_id": str(USER), "text": "form &amp; <i>fine</i>", "parse_mode": "HTML"})
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendMessage", data=form) as response:
            assert (await response.json())["result"]["text"] == "form & fine"
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(tiny_png(), "p.png"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("123")


async def test_answering_a_callback_twice_is_refused(emu: Emulator, bot: Bot) -> None:
    user = emu.user(USER)
    await bot.send_message(USER, "pick", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]))
    await user.tap("A", wait=False)
    (update,) = await bot.get_updates()
    assert update.callback_query and update.callback_query.message
    assert update.callback_query.message.text == "pick"
    assert await bot.answer_callback_query(update.callback_query.id, text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update.callback_query.id)
    assert user.callback_answers == [("ok", False)]


def test_parse_html_entities() -> None:
    text, entities = parse_html('<b>Жамаат</b> &lt;3 <a href="https://e.kg">сайт</a> 😀<i>x</i>')
    assert text == "Жамаат <3 сайт 😀x"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "text_link", "url": "https://e.kg", "offset": 10, "length": 4},
        {"type": "italic", "offset": 17, "length": 1},
    ]
    _, pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre == [{"type": "pre", "language": "python", "offset": 0, "length": 5}]
    text, entities = parse_html("😀😀 a&amp;b 👍🏽<b>ok</b>\n")  # runs of plain text between tags and references
    assert text == "😀😀 a&b 👍🏽ok\n" and entities == [{"type": "bold", "offset": 13, "length": 2}]


def test_clone_copies_json_values_deeply() -> None:
    raw = {"chat": {"id": 1}, "entities": [{"type": "bold", "offset": 0}], "text": "x", "date": 5, "ok": True}
    copied = clone(raw)
    assert copied == raw
    copied["chat"]["id"] = 2
    copied["entities"][0]["offset"] = 3
    copied["entities"].append({})
    assert raw == {"chat": {"id": 1}, "entities": [{"type": "bold", "offset": 0}], "text": "x", "date": 5, "ok": True}


async def test_webhook_mode_with_secret_and_reply_method(emu: Emulator, bot: Bot) -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(echo_router())
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher, bot, secret_token="s3cret", handle_in_background=False)
    handler.register(app, "/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        user = emu.user(USER, "Aibek")
        await bot.set_webhook(url, secret_token="s3cret", drop_pending_updates=True)
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        await user.send("/start")
        assert user.last.text == "Hello, Aibek!"
        await user.tap("Русский")
        assert user.last.text == "Language: ru" and user.last_answer == ("Saved", False)
        await user.send("ping")  # answered in the webhook response body
        assert user.last.text == "echo: ping"
        assert emu.stats.count("ok", "sendMessage") == 2

        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0

        await bot.set_webhook(url, secret_token="wrong")
        await user.send("refused", wait=False)
        await emu.wait_for(lambda: emu.webhook_info().get("last_error_message"))
        assert "401" in emu.webhook_info()["last_error_message"]
        assert user.last.text == "echo: ping"
        await bot.delete_webhook(drop_pending_updates=True)
        assert emu.webhook_info()["url"] == "" and not emu.queue
    finally:
        await runner.cleanup()


async def test_duplicate_delivery_and_concurrent_taps(emu: Emulator, polling_bot: list[int]) -> None:
    user = emu.user(USER)
    update = await user.send("once", duplicate=True)
    assert polling_bot == [update["message"]["message_id"]] * 2
    await emu.redeliver(update)
    assert len(polling_bot) == 3 and user.texts == ["echo: once"] * 3

    await user.send("/start")
    await user.tap_data("lang:ky", wait=False)
    await user.tap_data("lang:ru", wait=False)
    await emu.settle()
    assert user.last.text == "Language: ru"
    assert len(user.callback_answers) == 2


async def test_commands_per_language_and_scope(emu: Emulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Баштоо")], language_code="ky")
    default = [BotCommand(command="start", description="Start"), BotCommand(command="help", description="Help")]
    await bot.set_my_commands(default)
    private = [BotCommand(command="menu", description="Menu")]
    await bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    assert emu.commands("ky") == {"start": "Баштоо"}
    assert emu.commands() == {"start": "Start", "help": "Help"}
    assert emu.commands(scope="all_private_chats") == {"menu": "Menu"}
    assert [c.command for c in await bot.get_my_commands(language_code="ky")] == ["start"]
    await bot.delete_my_commands(language_code="ky")
    assert emu.commands("ky") == {}
    assert await bot.set_chat_menu_button()


async def test_web_chat_page_and_endpoints(emu: Emulator, polling_bot: list[int]) -> None:
    emu.add_persona(3003, "Gulnara", "Lawyer")
    base = emu.base_url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as response:
            assert response.status == 200 and "<html" in (await response.text()).lower()
        async with http.get(f"{base}/_emu/personas") as response:
            personas = await response.json()
        assert personas["personas"] == [{"user_id": 3003, "name": "Gulnara", "role": "Lawyer"}]

        async with http.post(f"{base}/_emu/chats/3003/message", json={"text": "/start"}) as response:
            assert (await response.json())["ok"] is True
        await emu.settle()
        async with http.get(f"{base}/_emu/chats/3003?since=0") as response:
            view = await response.json()
        bot_message = view["messages"][-1]
        assert bot_message["raw"]["text"] == "Hello, Gulnara!" and bot_message["outgoing"] is True
        version = view["version"]

        long_poll = asyncio.create_task(http.get(f"{base}/_emu/chats/3003?since={version}&wait=5"))
        payload = {"message_id": bot_message["message_id"], "data": "alert"}
        async with http.post(f"{base}/_emu/chats/3003/callback", json=payload) as response:
            assert response.status == 200
        async with await asyncio.wait_for(long_poll, 2) as response:
            assert (await response.json())["version"] > version
        await emu.settle()
        async with http.get(f"{base}/_emu/chats/3003?since={version}") as response:
            changed = await response.json()
        assert changed["answers"] == [{"text": "Careful!", "show_alert": True}]

        async with http.post(f"{base}/_emu/chats/3003/message", json={"text": "/phone"}) as response:
            assert response.status == 200
        await emu.settle()
        async with http.post(f"{base}/_emu/chats/3003/press", json={"text": "Share my phone"}) as response:
            assert response.status == 200
        await emu.settle()
        assert emu.user(3003).last.text.endswith("own=True")

        form = aiohttp.FormData()
        form.add_field("file", tiny_png(4, 4), filename="me.png", content_type="image/png")
        async with http.post(f"{base}/_emu/chats/3003/upload", data=form) as response:
            assert response.status == 200
        await emu.settle()
        photo = emu.user(3003).last.photo
        assert photo is not None
        async with http.get(f"{base}/_emu/files/{photo.file_id}") as response:
            assert response.content_type == "image/png" and await response.read() == tiny_png(4, 4)


async def test_restarted_polling_gets_updates_sent_while_down(emu: Emulator) -> None:
    user = emu.user(USER)
    dispatcher, task = await start_polling(emu, echo_router())
    await user.send("before")
    await dispatcher.stop_polling()
    await task
    await emu.wait_for(lambda: not emu.polling)
    await user.send("while down", wait=False)
    dispatcher, task = await start_polling(emu, echo_router())
    await emu.settle()
    assert user.texts == ["echo: before", "echo: while down"]
    await dispatcher.stop_polling()
    await task


async def test_voice_notes_go_both_ways(emu: Emulator, bot: Bot) -> None:
    """A villager's voice note reaches the bot; the bot sends it on by file id, or a new recording, with a caption."""
    user = emu.user(USER, "Aibek")
    await user.send_voice(duration=3, wait=False)
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.message is not None and update.message.voice is not None
    assert update.message.voice.duration == 3
    sent = await bot.send_voice(USER, update.message.voice.file_id, caption="Question #1")
    assert sent.voice is not None and sent.voice.file_id == update.message.voice.file_id
    assert user.last.voice is not None and user.last.voice.file_id == update.message.voice.file_id
    assert user.last.text == "Question #1"
    recorded = await bot.send_voice(USER, BufferedInputFile(b"OggS" + b"\x00" * 4000, "answer.ogg"))
    assert recorded.voice is not None and user.last.voice.data.startswith(b"OggS")
