"""The test and demo driver: users who send, tap and read, on top of the Bot API emulator.

Every user action enqueues an update and, unless ``wait=False``, returns only once the bot has
handled it: in polling mode when the bot asked for updates past it (run aiogram polling with
``handle_as_tasks=False``), in webhook mode when the webhook POST returned; and in both once no
other Bot API request is being served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from .bot_message import _CONTENT_KEYS, OWN, BotMessage, _Own, tiny_png
from .server import BotApiServer, ChatState, Delivery, Limits

T = TypeVar("T")


class TestChat:
    """What happened in one chat."""

    __test__ = False

    def __init__(self, emu: Emulator, chat_id: int) -> None:
        self.emu = emu
        self.chat_id = chat_id

    @property
    def _chat(self) -> ChatState:
        return self.emu.chats[self.chat_id]

    @property
    def history(self) -> list[BotMessage]:
        """Every message of the chat, the user's and the bot's, in order."""
        return [BotMessage(self.emu, m) for m in self._chat.messages]

    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in order (deleted ones left out)."""
        return [BotMessage(self.emu, m) for m in self._chat.messages if m.outgoing and not m.deleted]

    @property
    def texts(self) -> list[str | None]:
        return [m.text for m in self.messages]

    @property
    def last(self) -> BotMessage:
        """The bot message sent or edited last."""
        sent = [m for m in self._chat.messages if m.outgoing and not m.deleted]
        if not sent:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}\n{self.dump()}")
        return BotMessage(self.emu, max(sent, key=lambda m: m.touched))

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the chat shows now."""
        keyboard = self._chat.reply_keyboard
        if not keyboard:
            return None
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in keyboard["keyboard"]]

    async def wait_for_message(
        self, predicate: Callable[[BotMessage], bool], timeout: float | None = None
    ) -> BotMessage:
        """The newest bot message that satisfies ``predicate``, waiting for it if needed."""

        def find() -> BotMessage | None:
            return next((m for m in reversed(self.messages) if predicate(m)), None)

        return await self.emu.wait_for(find, timeout, f"no matching bot message in chat {self.chat_id}")

    def dump(self, last: int = 20) -> str:
        """The chat as a readable transcript."""
        lines = [f"chat {self.chat_id} ({self._chat.chat.get('title') or self._chat.chat.get('first_name')}):"]
        lines += ["  " + m.describe() for m in self.history[-last:]]
        return "\n".join(lines)


class TestUser(TestChat):
    """A person with a phone, in a private chat with the bot (chat id == user id)."""

    def __init__(self, emu: Emulator, user_id: int) -> None:
        super().__init__(emu, user_id)
        self.id = user_id

    @property
    def first_name(self) -> str:
        return self.emu.users[self.id].first_name

    @property
    def phone(self) -> str | None:
        return self.emu.users[self.id].phone

    def __repr__(self) -> str:
        return f"TestUser({self.id}, {self.first_name!r})"

    async def send(
        self, text: str, *, reply_to: int | None = None, wait: bool = True, duplicate: bool = False
    ) -> dict[str, Any]:
        """Send a text message (``/start payload`` gets a bot_command entity); returns the update."""
        return await self.emu.deliver(self.emu.user_text(self.id, text, reply_to=reply_to), wait, duplicate)

    async def tap(
        self,
        text: str | None = None,
        *,
        contains: str | None = None,
        index: int | None = None,
        message: BotMessage | int | None = None,
        wait: bool = True,
        duplicate: bool = False,
    ) -> dict[str, Any]:
        """Press a button by its text, a unique substring or its position (``index``, row by row).

        Inline buttons of ``message`` (default: the last bot message with an inline keyboard) come
        first, then the chat's reply keyboard.
        """
        if sum(x is not None for x in (text, contains, index)) != 1:
            raise TypeError("tap() needs exactly one of text, contains= or index=")
        target = self._keyboard_message(message)
        inline = [] if target is None else target.inline_buttons
        if index is not None:
            if not -len(inline) <= index < len(inline) or target is None:
                raise AssertionError(f"no inline button at index {index}: {target!r}\n{self.dump()}")
            text = inline[index]["text"]
        button = _pick(inline, text, contains)
        if button is not None and target is not None:
            if "callback_data" not in button:
                raise AssertionError(f"button {button['text']!r} has no callback_data: {button}")
            delivery = self.emu.user_callback(self.id, target._stored, str(button["callback_data"]))
            return await self.emu.deliver(delivery, wait, duplicate)
        reply_rows = self.reply_keyboard or []
        reply_text = _pick([{"text": t} for row in reply_rows for t in row], text, contains)
        if reply_text is None:
            wanted = repr(text) if text is not None else f"containing {contains!r}"
            raise AssertionError(
                f"user {self.id}: no button {wanted}; inline buttons"
                f" {target.buttons if target else []} (message {target.message_id if target else None}),"
                f" reply keyboard {reply_rows}\n{self.dump()}"
            )
        delivery = self.emu.press_reply_button(self.id, reply_text["text"])
        return await self.emu.deliver(delivery, wait, duplicate)

    async def tap_data(
        self, data: str, *, message: BotMessage | int | None = None, wait: bool = True, duplicate: bool = False
    ) -> dict[str, Any]:
        """A callback query with arbitrary data (forged or stale buttons) on ``message`` or the last one."""
        target = self._keyboard_message(message)
        if target is None:
            target = self.last
        return await self.emu.deliver(self.emu.user_callback(self.id, target._stored, data), wait, duplicate)

    async def share_contact(
        self,
        phone: str | None = None,
        *,
        user_id: int | None | Literal[_Own.OWN] = OWN,
        first_name: str | None = None,
        wait: bool = True,
        duplicate: bool = False,
    ) -> dict[str, Any]:
        """Share a contact: the own one by default; another ``user_id`` or None for someone else's."""
        contact_user = self.id if user_id is OWN else user_id
        delivery = self.emu.user_contact(self.id, phone, contact_user, first_name)
        return await self.emu.deliver(delivery, wait, duplicate)

    async def send_photo(
        self,
        data: bytes | None = None,
        *,
        caption: str | None = None,
        filename: str = "photo.png",
        wait: bool = True,
    ) -> dict[str, Any]:
        """Send a photo (a tiny PNG unless ``data`` is given)."""
        delivery = self.emu.user_file(self.id, data or tiny_png(), filename, as_photo=True, caption=caption)
        return await self.emu.deliver(delivery, wait)

    async def send_document(
        self,
        data: bytes,
        filename: str = "document.pdf",
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        delivery = self.emu.user_file(
            self.id, data, filename, as_photo=False, caption=caption, mime_type=mime_type
        )
        return await self.emu.deliver(delivery, wait)

    async def send_sticker(self, emoji: str = "👍", *, wait: bool = True) -> dict[str, Any]:
        return await self.emu.deliver(self.emu.user_sticker(self.id, emoji), wait)

    async def send_voice(self, duration: int = 2, *, wait: bool = True) -> dict[str, Any]:
        return await self.emu.deliver(self.emu.user_voice(self.id, duration), wait)

    async def send_location(self, latitude: float, longitude: float, *, wait: bool = True) -> dict[str, Any]:
        return await self.emu.deliver(self.emu.user_location(self.id, latitude, longitude), wait)

    @property
    def callback_answers(self) -> list[tuple[str | None, bool]]:
        """(text, show_alert) of every answered callback query of this user, in order."""
        return [(a.text, a.show_alert) for a in self.emu.callback_answers if a.user_id == self.id]

    @property
    def last_answer(self) -> tuple[str | None, bool] | None:
        answers = self.callback_answers
        return answers[-1] if answers else None

    def _keyboard_message(self, message: BotMessage | int | None) -> BotMessage | None:
        if isinstance(message, BotMessage):
            return message
        if isinstance(message, int):
            stored = self._chat.by_id.get(message)
            if stored is None:
                raise AssertionError(f"no message {message} in chat {self.chat_id}")
            return BotMessage(self.emu, stored)
        with_keyboard = [
            m for m in self._chat.messages if m.outgoing and not m.deleted and m.raw.get("reply_markup")
        ]
        return BotMessage(self.emu, max(with_keyboard, key=lambda m: m.touched)) if with_keyboard else None


class TestGroup(TestChat):
    """A group chat the bot is in."""

    async def send(self, user: TestUser | int, text: str, *, wait: bool = True) -> dict[str, Any]:
        user_id = user.id if isinstance(user, TestUser) else user
        return await self.emu.deliver(self.emu.user_text(user_id, text, chat_id=self.chat_id), wait)

    async def service(self, user: TestUser | int, *, wait: bool = True, **content: Any) -> dict[str, Any]:
        """A service message (``new_chat_members=[...]``, ``migrate_to_chat_id=...``, ``pinned_message=...``)."""
        user_id = user.id if isinstance(user, TestUser) else user
        return await self.emu.deliver(self.emu.user_service_message(user_id, self.chat_id, **content), wait)

    async def add_bot(self, by: TestUser | int, *, status: str = "member", wait: bool = True) -> dict[str, Any]:
        """``by`` adds the bot to this group (a my_chat_member update)."""
        user_id = by.id if isinstance(by, TestUser) else by
        return await self.emu.deliver(self.emu.bot_membership(self.chat_id, user_id, status), wait)

    async def tap(self, user: TestUser | int, text: str, *, message: BotMessage | None = None,
                  wait: bool = True) -> dict[str, Any]:
        """``user`` presses an inline button of a bot message in the group (the last one with buttons)."""
        user_id = user.id if isinstance(user, TestUser) else user
        target = message or next((m for m in reversed(self.messages) if m.inline_buttons), None)
        if target is None:
            raise AssertionError(f"no bot message with buttons in group {self.chat_id}\n{self.dump()}")
        data = str(target.button(text)["callback_data"])
        return await self.emu.deliver(self.emu.user_callback(user_id, target._stored, data, chat_id=self.chat_id),
                                      wait)


def _pick(buttons: Iterable[dict[str, Any]], text: str | None, contains: str | None) -> dict[str, Any] | None:
    buttons = list(buttons)
    if text is not None:
        return next((b for b in buttons if b["text"] == text), None)
    assert contains is not None
    found = [b for b in buttons if contains in b["text"]]
    if len(found) > 1:
        raise AssertionError(f"several buttons contain {contains!r}: {[b['text'] for b in found]}")
    return found[0] if found else None


class Emulator(BotApiServer):
    """The Bot API emulator with the driver API: ``emu.user(1001)``, ``await emu.settle()``…"""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 7000000001,
        username: str = "jamaat_bot",
        first_name: str = "Jamaat",
        limits: Limits | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(token, bot_id=bot_id, username=username, first_name=first_name, limits=limits)
        self.timeout = timeout

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        phone: str | None = None,
    ) -> TestUser:
        """The user with this id (created on first use; given fields are updated)."""
        fields = {"last_name": last_name, "username": username, "language_code": language_code, "phone": phone}
        self.ensure_user(user_id, first_name, **{k: v for k, v in fields.items() if v is not None})
        return TestUser(self, user_id)

    def group(self, chat_id: int, title: str = "Group", *, supergroup: bool = False) -> TestGroup:
        self.ensure_group(chat_id, title, "supergroup" if supergroup else "group")
        return TestGroup(self, chat_id)

    def commands(self, language_code: str = "", scope: str = "default") -> dict[str, str]:
        """What setMyCommands stored for this scope type and language: {command: description}."""
        stored = self.command_sets.get((scope, language_code), [])
        return {c["command"]: c["description"] for c in stored}

    async def deliver(self, delivery: Delivery, wait: bool = True, duplicate: bool = False) -> dict[str, Any]:
        """Wait (if asked) until the bot handled the update (and its duplicate); returns the update."""
        deliveries = [delivery]
        if duplicate:
            deliveries.append(self.enqueue_again(delivery.update))
        if wait:
            await self.wait_handled(deliveries)
        return delivery.update

    async def redeliver(self, update: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Deliver an update again with the same update_id (Telegram does after a lost answer)."""
        return await self.deliver(self.enqueue_again(update), wait)

    async def wait_handled(self, deliveries: list[Delivery], timeout: float | None = None) -> None:
        def handled() -> bool:
            return all(d.done.is_set() for d in deliveries) and self.inflight == 0

        await self._until(handled, timeout, lambda: self._report(deliveries))

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until every queued update is handled and no Bot API request is being served."""

        def settled() -> bool:
            return not self.queue and self.inflight == 0

        await self._until(settled, timeout, lambda: self._report(list(self.queue)))

    async def wait_for(
        self, condition: Callable[[], T], timeout: float | None = None, message: str | None = None
    ) -> T:
        """Wait until ``condition()`` is truthy (checked on every change and every 50 ms); returns it."""
        result: list[T] = []

        def check() -> bool:
            value = condition()
            if value:
                result.append(value)
            return bool(value)

        await self._until(check, timeout, lambda: message or f"condition {condition!r} still false")
        return result[0]

    async def _until(self, check: Callable[[], bool], timeout: float | None, report: Callable[[], str]) -> None:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not check():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {limit:g} s: {report()}")
            await self._wait_change(min(remaining, 0.05))

    def _report(self, deliveries: list[Delivery]) -> str:
        lines = []
        for d in deliveries:
            if d.done.is_set():
                state = "handled"
            else:
                state = "delivered, not confirmed" if d.delivered else "not delivered"
            if d.error:
                state += f"; webhook error: {d.error}"
            lines.append(f"update {d.update_id} ({_summary(d.update)}): {state}")
        mode = f"webhook {self.webhook['url']}" if self.webhook else "polling"
        lines.append(f"mode: {mode}; requests in flight: {self.inflight}; queued updates: {len(self.queue)}")
        if not self.webhook:
            lines.append("(is the bot polling, with handle_as_tasks=False?)")
        chats = {int(_chat_of(d.update)) for d in deliveries if _chat_of(d.update) is not None}
        for chat_id in sorted(chats):
            if chat_id in self.chats:
                lines.append(TestChat(self, chat_id).dump(last=8))
        return "\n".join(lines)


def _chat_of(update: dict[str, Any]) -> int | None:
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    if "callback_query" in update:
        return int(update["callback_query"]["message"]["chat"]["id"])
    if "my_chat_member" in update:
        return int(update["my_chat_member"]["chat"]["id"])
    return None


def _summary(update: dict[str, Any]) -> str:
    if "callback_query" in update:
        query = update["callback_query"]
        return f"callback_query from {query['from']['id']} data={query.get('data')!r}"
    message = update.get("message", {})
    content = message.get("text") or next((f"<{k}>" for k in _CONTENT_KEYS if k in message), "?")
    return f"message from {message.get('from', {}).get('id')}: {content!r}"
