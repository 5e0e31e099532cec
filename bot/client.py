"""The Bot API client, kept cheap per call.

aiogram parses every answer with ``Response[<the method's result type>]``, a pydantic generic model. pydantic
keeps those classes only weakly: after a garbage collection the next call builds the class again (its schema and
validator), which cost about a tenth of all the CPU of an update. ``pin_response_models`` keeps one strong
reference per method type, so each class is built once per process."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod

_PINNED: dict[type, Any] = {}


class PinResponseModels(BaseRequestMiddleware):
    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        kind = type(method)
        if kind not in _PINNED:
            _PINNED[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)


def pin_response_models(bot: Bot) -> Bot:
    bot.session.middleware(PinResponseModels())
    return bot
