"""One attempt at handling an update, and the Bot API calls that go out beside its work.

Most calls a handler makes are awaited where it makes them: what it does next may depend on their answer, and
messages to one chat must arrive in the order they were sent. Two kinds need no answer, so they go out beside
the rest of the update's work (``bot.resilience.BotApiPolicy`` sends them as tasks, with the same 429/5xx
policy): the handler goes on at once and their round trip to Telegram overlaps its database work, its reply and
its commit.

- A bare answer to a tapped button (``query.answer()``: no text, no alert, no link; it only stops the button's
  spinner).
- A call a handler marks with ``aside``: an edit (a choice confirmed, a keyboard removed or redrawn), a short
  notice on a tapped button, or a person's command menu. Nothing that sends a new message goes aside, even when
  marked: it is awaited, so the chat keeps its order. Neither does anything to a WhatsApp chat, where an edit
  arrives as a new message.

A later call to the same chat waits for the one in flight there: the person sees the same changes in the same
order as before, only the update's own work (its database statements, its commit) no longer waits for them. A
command menu is not a message of the chat: it keeps its order with the person's other menus only, so the message
after it (the welcome at the end of a registration) does not wait a round trip to Telegram for it. The
attempt waits for them before it ends (after the commit, before the person's next update), so the update's end, a
shutdown and the tests see them as before. Their failure is logged, not the update's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SetMyCommands,
    TelegramMethod,
)

from services.channels import is_whatsapp_chat

log = logging.getLogger("jamaat.resilience")

# What ``aside`` may send beside the update's work: nothing here makes a new message.
_MAY_GO_ASIDE = (AnswerCallbackQuery, EditMessageText, EditMessageReplyMarkup, EditMessageCaption, SetMyCommands,
                 DeleteMyCommands)
_MENUS = (SetMyCommands, DeleteMyCommands)
_marked: ContextVar[bool] = ContextVar("jamaat_aside", default=False)


@dataclass
class Attempt:
    """One attempt at one update: whether a Bot API call already did something the person can see, and the
    calls still in flight beside it."""

    update_id: int
    number: int = 1
    sent: bool = False
    beside: list[asyncio.Task[Any]] = field(default_factory=list)
    _chats: dict[str, asyncio.Task[Any]] = field(default_factory=dict)  # the last call aside, by chat

    def put_aside(self, method: TelegramMethod[Any], send: Coroutine[Any, Any, None]) -> None:
        """``send`` runs as a task, after the call to the same chat still in flight, if any."""
        key = chat_key(method)
        previous = self._chats.get(key) if key is not None else None

        async def after_previous() -> None:
            await previous  # never raises: each logs its own failure
            await send

        task = asyncio.create_task(after_previous() if previous is not None else send)
        self.beside.append(task)
        if key is not None:
            self._chats[key] = task

    async def in_turn(self, method: TelegramMethod[Any]) -> None:
        """Before a call to a chat: the call still in flight there beside the update ends first."""
        if self._chats:
            key = chat_key(method)
            task = self._chats.pop(key, None) if key is not None else None
            if task is not None:
                await task

    async def settle(self) -> None:
        """Wait for the calls still in flight (each logs its own failure)."""
        while self.beside:
            await self.beside.pop()
        self._chats.clear()

    def abandon(self) -> None:
        for task in self.beside:
            task.cancel()
        self.beside.clear()
        self._chats.clear()


current_attempt: ContextVar[Attempt | None] = ContextVar("jamaat_update_attempt", default=None)


async def aside(call: Awaitable[Any]) -> None:
    """``await aside(message.edit_text(...))``: a call whose answer the handler does not need goes out beside the
    update's work (see above); outside an update, to a WhatsApp chat, or for a call that sends a new message, it
    is awaited here. Either way its failure is logged, never raised."""
    token = _marked.set(True)
    try:
        await call
    except TelegramAPIError as exc:
        log.warning("%s failed: %s", describe(exc.method), exc)
    finally:
        _marked.reset(token)


def goes_aside(method: TelegramMethod[Any]) -> bool:
    if isinstance(method, AnswerCallbackQuery) and not method.text and not method.show_alert and not method.url:
        return True  # a bare answer
    return (_marked.get() and isinstance(method, _MAY_GO_ASIDE)
            and not is_whatsapp_chat(getattr(method, "chat_id", None)))


def _chat_of(method: TelegramMethod[Any]) -> int | str | None:
    return getattr(method, "chat_id", None) or getattr(getattr(method, "scope", None), "chat_id", None)


def chat_key(method: TelegramMethod[Any]) -> str | None:
    """What a call keeps its order with: the chat's messages, or the person's command menu in that chat (not a
    message: a new message does not wait for a menu in flight, nor a menu for a message)."""
    chat_id = _chat_of(method)
    if chat_id is None:
        return None
    return f"menu {chat_id}" if isinstance(method, _MENUS) else str(chat_id)


def describe(method: TelegramMethod[Any]) -> str:
    """For the log: the method and its chat."""
    chat_id = _chat_of(method)
    return method.__api_method__ + (f" in chat {chat_id}" if chat_id is not None else "")
