"""The outbox sender's lean path to the Bot API: a text message to a Telegram chat, posted as prepared JSON.

aiogram builds a pydantic model of every call, runs its request middlewares, encodes the call as multipart form
data and parses the whole answer into a ``Message`` model; for a notice the sender needs only whether it was
sent and its message id. ``LeanSender.send_message`` posts the JSON through the bot's own session (its kept-open
connections, ``JsonSession.post_json``) and reads ``ok`` and ``result.message_id``. Anything else (an error
answer) goes through aiogram's own ``check_response``, so a 429 is the same ``TelegramRetryAfter`` with its
``retry_after``, a 403 the same ``TelegramForbiddenError``, a 5xx the same ``TelegramServerError`` as on aiogram's
path, and the sender's handling of them does not change. Files, chats of another channel (WhatsApp), and a bot
whose session is not a ``JsonSession`` take aiogram's path."""

from __future__ import annotations

import json
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage

from bot.client import JsonSession


class LeanSender:
    def __init__(self, bot: Bot) -> None:
        session = getattr(bot.session, "inner", bot.session)  # under bot.whatsapp.session.ChannelSession
        self.bot = bot
        self.session = session if isinstance(session, JsonSession) else None
        self.url = session.api.api_url(token=bot.token, method="sendMessage") if self.session is not None else ""

    @property
    def usable(self) -> bool:
        return self.session is not None

    async def send_message(self, chat_id: int, text: str, *, parse_mode: str | None,
                           reply_markup: dict[str, Any] | None, paid: bool) -> int:
        """sendMessage; returns Telegram's message id, or raises what aiogram raises for the same answer."""
        assert self.session is not None
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_markup:
            payload["reply_markup"] = reply_markup
        if paid:
            payload["allow_paid_broadcast"] = True
        body = json.dumps(payload, ensure_ascii=False).encode()
        status, raw = await self.session.post_json(self.url, body, method=lambda: self._method(payload))
        try:
            answer = json.loads(raw)
            if status == 200 and answer["ok"]:
                return int(answer["result"]["message_id"])
        except (ValueError, KeyError, TypeError):
            pass
        # An error (or an answer we do not read): aiogram's own checks raise the exception its path would.
        self.session.check_response(self.bot, self._method(payload), status, raw.decode(errors="replace"))
        raise TelegramAPIError(method=self._method(payload), message=f"unexpected answer ({status})")

    @staticmethod
    def _method(payload: dict[str, Any]) -> SendMessage:
        return SendMessage(chat_id=payload["chat_id"], text=payload["text"], parse_mode=payload.get("parse_mode"))
