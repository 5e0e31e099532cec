"""Handlers are declared once per module and built into a fresh aiogram Router for every dispatcher.

An aiogram Router can belong to one dispatcher only; tests, restarts and several bot processes in one
interpreter each need their own. ``Routes`` keeps aiogram's decorator style::

    router = Routes("start")

    @router.message(CommandStart())
    async def on_start(message: Message) -> None: ...

A callback-query handler that takes ``message: Message`` gets the button's message (``bot.filters.ButtonMessage``):
no handler has to check that ``query.message`` is still accessible.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery

from bot.filters import ButtonMessage

Handler = Callable[..., Any]


class _Observer:
    def __init__(self, routes: Routes, name: str) -> None:
        self.routes = routes
        self.name = name

    def __call__(self, *filters: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.handlers.append((self.name, handler, filters, kwargs))
            return handler

        return register

    def filter(self, *filters: Any) -> None:
        """Filters every handler of this observer must pass (aiogram's ``router.message.filter``)."""
        self.routes.filters.append((self.name, filters))


class Routes:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[tuple[str, Handler, tuple[Any, ...], dict[str, Any]]] = []
        self.filters: list[tuple[str, tuple[Any, ...]]] = []
        self.message = _Observer(self, "message")
        self.callback_query = _Observer(self, "callback_query")
        self.errors = _Observer(self, "error")
        self.my_chat_member = _Observer(self, "my_chat_member")

    def build(self) -> Router:
        router = LeanRouter(name=self.name)
        for observer, filters in self.filters:
            router.observers[observer].filter(*filters)
        for observer, handler, filters, kwargs in self.handlers:
            if observer == "callback_query" and "message" in inspect.signature(handler).parameters:
                filters = (*filters, ButtonMessage())
            router.observers[observer].register(handler, *filters, **kwargs)
        return router


class LeanRouter(Router):
    """aiogram's Router, passed by more cheaply when it cannot take an event.

    aiogram hands every event to every router in turn until one takes it, and each router it passes copies the
    update's context (a dict of some thirty entries) half a dozen times and wraps its outer middlewares (none
    here) in a fresh ``functools.wraps``'d function: a ballot's button passed 16 routers to reach voting's. A
    router without sub-routers here turns an event away at once when it has no handler of the event's kind, or
    when its quick test for that kind (``refuses``, set by ``index_callbacks``: the button's prefix is none of
    its handlers' kinds) says no; a router without outer middlewares for the kind goes straight to its filters.
    Which handler takes an event, and with what, is unchanged: the same root filters and handlers run in the
    same order."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.refuses: dict[str, Callable[[Any], bool]] = {}

    async def propagate_event(self, update_type: str, event: Any, **kwargs: Any) -> Any:
        observer = self.observers.get(update_type)
        if observer is None or len(observer.outer_middleware):
            return await super().propagate_event(update_type, event, **kwargs)
        if not self.sub_routers:
            refuses = self.refuses.get(update_type)
            if not observer.handlers or (refuses is not None and refuses(event)):
                return UNHANDLED
        kwargs["event_router"] = self
        return await self._propagate_event(observer=observer, update_type=update_type, event=event, **kwargs)


def inline_sync_filters(dispatcher: Router) -> None:
    """Run plain (synchronous) filters in the event loop. aiogram runs every one that is not a coroutine function
    — ``F.data == "x"``, ``F.text`` and the like, checked one handler after another — in a worker thread
    (``asyncio.to_thread``), a thread hand-off per check that cost about a tenth of an update's CPU. Ours are
    pure attribute tests on the update, so they are called directly; results are the same."""
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            for handler in (observer._handler, *observer.handlers):
                for item in handler.filters or ():
                    if not item.awaitable:
                        item.callback = _awaitable(item.callback)
                        item.awaitable = True


def index_callbacks(dispatcher: Router) -> None:
    """Let a button reach only the routers that have a handler for its kind. A callback query otherwise passes
    through every router in turn, and each one checks its own filters and then each handler's (``unpack`` of every
    ``CallbackData`` class, a pydantic model built per try) until one matches: about a twentieth of an update's
    CPU. A router whose callback handlers all filter on ``CallbackData`` classes gets a first root filter that
    compares the button's prefix with those classes' prefixes; a router with any other callback handler (the
    fallback's catch-all) gets none and sees every button as before. What matches is unchanged: a handler's own
    filter still unpacks and checks the data."""
    for router in dispatcher.chain_tail:
        observer = router.observers["callback_query"]
        if not observer.handlers:
            continue
        kinds: set[tuple[str, str]] = set()
        for handler in observer.handlers:
            found = [item.callback.callback_data for item in handler.filters or ()
                     if isinstance(item.callback, CallbackQueryFilter)]
            if not found:
                break
            kinds.update((kind.__prefix__, kind.__separator__) for kind in found)
        else:
            known = _ButtonKinds(frozenset(kinds))
            observer._handler.filters = [FilterObject(known), *(observer._handler.filters or ())]
            if isinstance(router, LeanRouter):  # the same test, before the router is even entered
                router.refuses["callback_query"] = known.refuses


class _ButtonKinds(Filter):
    def __init__(self, kinds: frozenset[tuple[str, str]]) -> None:
        self.kinds = kinds

    async def __call__(self, query: CallbackQuery) -> bool:
        return self.known(query)

    def known(self, query: CallbackQuery) -> bool:
        data = query.data or ""
        return any(data.split(separator, 1)[0] == prefix for prefix, separator in self.kinds)

    def refuses(self, query: CallbackQuery) -> bool:
        return not self.known(query)


def _awaitable(function: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return call
