"""The Bot API client, kept cheap per call.

``JsonSession`` posts a call without files as one JSON body. aiogram's own session sends every call as form
fields, the nested ones (a keyboard, entities) as JSON text inside them, and aiohttp then percent-encodes the whole
form byte by byte in Python: for a keyboard of Kyrgyz titles that encoding cost more than the rest of the call.
That body goes over connections ``JsonSession`` keeps open itself (``bot.http1``: aiohttp's client machinery cost
~110 µs more a call). A call with files still goes as multipart form data through aiohttp, as before.

aiogram parses every answer with ``Response[<the method's result type>]``, a pydantic generic model. pydantic
keeps those classes only weakly: after a garbage collection the next call builds the class again (its schema and
validator), which cost about a tenth of all the CPU of an update. ``JsonSession`` reads a successful answer's
result on its own, with one ``TypeAdapter`` per method type (the same objects, the bot's context included): the
wrapper and its generic class look-up at every call cost about a tenth of the answer's reading. An error answer,
and the answer to a call with files, still go through aiogram's ``check_response`` and its exceptions; there
``JsonSession`` keeps one strong reference per method type to the ``Response[...]`` class, so each is built once
per process.

Telegram answers a sent or edited message with the whole message: its keyboard and its formatting (entities)
too; and every button a person taps comes back with the whole message it was on, keyboard included. The bot never
reads back a keyboard of its own (what it sent, it knows), but aiogram validates every button and entity into a
model with a Python-level set-up: for a ballot of nine problems, five times the cost of the rest of the answer, at
every call and every tap. ``JsonSession`` reads JSON with ``loads_lean``, which leaves out the keyboard and
formatting of the bot's own message in the answer to its call, and the keyboard of the message under a tapped
button (its text and formatting stay: ``html_text`` works), in ``getUpdates`` answers and webhook updates alike."""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any, Optional

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from pydantic import TypeAdapter, ValidationError

from bot.http1 import Http1Client, Http1Error
from services.channels import is_whatsapp_chat

_PINNED: dict[type, Any] = {}
_PLAIN = (str, int, float, bool)  # exactly these types (not subclasses: an enum's member goes to aiogram)
_ECHOED = ("reply_markup", "entities", "caption_entities")  # what a sent message repeats of the call


def loads_lean(content: str) -> Any:
    """A Bot API answer or a webhook update, without what the bot sent itself and never reads back."""
    data = json.loads(content)
    if isinstance(data, dict):
        result = data.get("result")
        if isinstance(result, dict) and "message_id" in result and "chat" in result:  # its own message
            for key in _ECHOED:
                result.pop(key, None)
        elif isinstance(result, list):  # getUpdates
            for update in result:
                _trim_update(update)
        elif "update_id" in data:  # a webhook's update
            _trim_update(data)
    return data


def _trim_update(update: Any) -> None:
    query = update.get("callback_query") if isinstance(update, dict) else None
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        message.pop("reply_markup", None)


class JsonSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_loads", loads_lean)
        super().__init__(**kwargs)
        self.http1 = Http1Client()  # calls without files (aiohttp's session still posts files)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        payload, files = self.payload(bot, method)
        if files:
            return await super().make_request(bot, method, timeout)
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        body = json.dumps(payload, ensure_ascii=False).encode()
        status, raw = await self.post_json(url, body, timeout, method=lambda: method)
        content = raw.decode(errors="replace")
        if status == HTTPStatus.OK:
            try:
                data = self.json_loads(content)
            except ValueError:
                data = None  # aiogram's own check below says what was wrong
            if isinstance(data, dict) and data.get("ok") is True:
                return _validated_result(bot, method, data)
        return self.check_response(bot=bot, method=method, status_code=status, content=content).result

    def check_response(self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str) -> Any:
        """aiogram's, for error answers and calls with files, with its ``Response[...]`` class kept (pinned)."""
        kind = type(method)
        if kind not in _PINNED:
            _PINNED[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return super().check_response(bot, method, status_code, content)

    def payload(self, bot: Bot, method: TelegramMethod[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The call's fields as aiogram's session would send them (its ``prepare_value``), and its files."""
        files: dict[str, Any] = {}
        payload = {}
        # None is left out as aiogram's prepare_value leaves it out, but by pydantic (most of a keyboard button's
        # fields are None), and plain values are taken as they are: half the cost of a keyboard's body.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            value = self._prepared(value, bot, files)
            if value is not None and value != "":  # what the form leaves out (an empty text field)
                payload[key] = value
        return payload, files

    def _prepared(self, value: Any, bot: Bot, files: dict[str, Any]) -> Any:
        """aiogram's ``prepare_value`` (defaults, files, dates, enums), with strings, numbers, dicts and lists
        walked here first."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict:
            return {k: item for k, v in value.items() if (item := self._prepared(v, bot, files)) is not None}
        if kind is list:
            return [item for v in value if (item := self._prepared(v, bot, files)) is not None]
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    async def post_json(self, url: str, body: bytes, timeout: float | None = None, *,
                        method: Callable[[], TelegramMethod[Any]]) -> tuple[int, bytes]:
        """A JSON body posted on a kept-open connection (``bot.http1``): the answer's status and bytes. A failed
        connection or a timeout is aiogram's ``TelegramNetworkError`` (about ``method()``), as on aiogram's path."""
        try:
            return await self.http1.post(url, body, timeout=self.timeout if timeout is None else timeout)
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method(), message="Request timeout error") from exc
        except Http1Error as exc:
            raise TelegramNetworkError(method=method(), message=f"{type(exc).__name__}: {exc}") from exc

    async def create_session(self) -> Any:
        """aiohttp's session for calls with files. aiogram resets it before its first use by calling ``close()``,
        which here would also close the kept-open connections of the JSON calls under way: only aiohttp's own
        session is closed for that reset."""
        if self._should_reset_connector:
            await super().close()
            self._should_reset_connector = False  # aiogram's own code below makes the new session
        return await super().create_session()

    async def close(self) -> None:
        self.http1.close()
        await super().close()


_RESULTS: dict[type, TypeAdapter[Any]] = {}


def _validated_result(bot: Bot, method: TelegramMethod[Any], data: dict[str, Any]) -> Any:
    """A successful answer's result as aiogram's ``check_response`` gives it (``Response[...]``'s ``result``),
    validated on its own: the wrapper model and its generic class look-up at every call cost a tenth of it."""
    kind = type(method)
    adapter = _RESULTS.get(kind)
    if adapter is None:
        adapter = _RESULTS[kind] = TypeAdapter(Optional[method.__returning__])  # noqa: UP045 - a runtime type
    try:
        return adapter.validate_python(data.get("result"), context={"bot": bot})
    except ValidationError as error:
        raise ClientDecodeError("Failed to deserialize object", error, data) from error


# --------------------------------------------------------------------------- one flood budget for the whole bot

#: Methods Telegram's flood control counts against the bot's ~30 a second (sending or changing a message).
COUNTED = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
                     "sendMediaGroup", "sendLocation", "sendContact", "sendSticker", "copyMessage",
                     "forwardMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
_PREPAID: ContextVar[bool] = ContextVar("jamaat_flood_prepaid", default=False)


class FloodBucket:
    """A token bucket for every counted call of one bot: ``rate`` tokens a second, at most ``burst`` saved up.

    The outbox sender waits for a token (``take``) before each call; anything else the bot sends (answers to
    people, progress edits) spends one without waiting (``spend``, the balance may go below zero), and the
    sender then waits that much longer. So the bot as a whole spends exactly what Telegram allows."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        # Half a second saved up: enough to make up a database hiccup, far below the 30 Telegram lets through.
        self.burst = max(1.0, burst if burst is not None else rate / 2)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.spent = 0

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def spend(self) -> None:
        self._refill(time.monotonic())
        self.tokens -= 1
        self.spent += 1

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self._refill(now)
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
            if wait <= 0:
                self.tokens -= 1
                self.spent += 1
                return
            await asyncio.sleep(wait)


# Per bot object (one per process), not per token: aiogram's ``Bot`` compares equal by token, so a dictionary
# keyed by the bot would hand a second bot object of the same token the first one's bucket and rate.
_BUCKETS: dict[int, FloodBucket] = {}


class _SpendTokens(BaseRequestMiddleware):
    def __init__(self, bucket: FloodBucket) -> None:
        self.bucket = bucket

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        if (not _PREPAID.get() and method.__api_method__ in COUNTED
                and not is_whatsapp_chat(getattr(method, "chat_id", None))):  # WhatsApp has its own limit
            self.bucket.spend()
        return await make_request(bot, method)


def flood_bucket(bot: Bot, rate: float, burst: float | None = None) -> FloodBucket:
    """The bot's bucket, made (and hooked into its session) on first use."""
    bucket = _BUCKETS.get(id(bot))
    if bucket is None:
        bucket = _BUCKETS[id(bot)] = FloodBucket(rate, burst)
        weakref.finalize(bot, _BUCKETS.pop, id(bot), None)
        bot.session.middleware(_SpendTokens(bucket))
    return bucket


async def prepaid(call: Any) -> Any:
    """Make the call (a coroutine function) with a token already taken from the bucket (``FloodBucket.take``)."""
    token = _PREPAID.set(True)
    try:
        return await call()
    finally:
        _PREPAID.reset(token)
