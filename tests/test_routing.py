"""bot/routes.py: a button reaches only the routers with a handler of its kind; what answers it is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import Update

from bot.routes import LeanRouter, Routes, _ButtonKinds, index_callbacks
from tests.harness import Harness
from tests.test_registration import register


class OneCB(CallbackData, prefix="one"):
    n: int


class TwoCB(CallbackData, prefix="two"):
    n: int


def test_only_routers_whose_buttons_are_all_known_are_indexed() -> None:
    known, mixed = Routes("known"), Routes("mixed")

    @known.callback_query(OneCB.filter())
    async def one(_: Any) -> None: ...

    @known.callback_query(TwoCB.filter(), flags={})
    async def two(_: Any) -> None: ...

    @mixed.callback_query(OneCB.filter())
    async def mixed_one(_: Any) -> None: ...

    @mixed.callback_query()
    async def anything(_: Any) -> None: ...

    dispatcher = Dispatcher()
    dispatcher.include_routers(known.build(), mixed.build())
    index_callbacks(dispatcher)
    first, second = dispatcher.sub_routers
    filters = first.observers["callback_query"]._handler.filters
    assert isinstance(filters[0].callback, _ButtonKinds)
    assert filters[0].callback.kinds == {("one", ":"), ("two", ":")}
    assert not second.observers["callback_query"]._handler.filters  # the catch-all sees every button


async def test_a_button_is_unpacked_only_by_its_own_kind(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting which CallbackData classes try to read a tapped button: only the button's own class does."""
    user = await register(bot, 1401, language="English", sex=None)
    tried: list[str] = []
    real = CallbackQueryFilter.__call__

    async def counted(self: CallbackQueryFilter, query: Any) -> Any:
        tried.append(self.callback_data.__prefix__)
        return await real(self, query)

    monkeypatch.setattr(CallbackQueryFilter, "__call__", counted)
    await user.send("/profile")
    button = user.last.inline_buttons[0]
    await user.tap(button["text"])
    prefix = str(button["callback_data"]).split(":", 1)[0]
    assert tried and set(tried) == {prefix}, tried
    tried.clear()
    await user.tap_data("nosuchkind:1")  # a button no handler knows: the fallback still answers it
    assert tried == []
    assert "no longer active" in (user.last_answer or ("",))[0]


def _update(update_id: int, *, data: str | None = None, text: str | None = None) -> Update:
    user = {"id": 7, "is_bot": False, "first_name": "A"}
    message = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "from": user, "text": text or "x"}
    if data is None:
        return Update.model_validate({"update_id": update_id, "message": message})
    return Update.model_validate({"update_id": update_id,
                                  "callback_query": {"id": "q", "from": user, "chat_instance": "c", "data": data,
                                                     "message": message}})


async def test_a_router_that_cannot_take_an_event_is_passed_without_being_entered() -> None:
    """LeanRouter: a router with no handler of the event's kind, or whose buttons are of other kinds, is passed
    before its root filters run; a router with outer middleware is entered as aiogram does; the handler that
    answers, and the router named in its context, are the ones aiogram's own routers give."""
    entered: list[str] = []

    def root(name: str) -> Any:
        async def passes(_: Any) -> bool:
            entered.append(name)
            return True
        return passes

    texts, buttons, guarded, catch_all = Routes("texts"), Routes("buttons"), Routes("guarded"), Routes("catch_all")
    texts.message.filter(root("texts"))
    texts.callback_query.filter(root("texts"))

    @texts.message(F.text == "hi")
    async def hi(_: Any, event_router: Router) -> str:
        return f"hi from {event_router.name}"

    buttons.callback_query.filter(root("buttons"))

    @buttons.callback_query(OneCB.filter())
    async def one(_: Any, callback_data: OneCB, event_router: Router) -> str:
        return f"one {callback_data.n} from {event_router.name}"

    guarded.callback_query.filter(root("guarded"))

    @guarded.callback_query(TwoCB.filter())
    async def two(_: Any, callback_data: TwoCB, seen: str) -> str:
        return f"two {callback_data.n} {seen}"

    @catch_all.callback_query()
    async def anything(_: Any, event_router: Router) -> str:
        return f"anything from {event_router.name}"

    dispatcher = Dispatcher()
    built = [routes.build() for routes in (texts, buttons, guarded, catch_all)]
    assert all(isinstance(router, LeanRouter) for router in built)

    async def outer(handler: Any, event: Any, data: dict[str, Any]) -> Any:
        entered.append("guarded's outer middleware")
        return await handler(event, {**data, "seen": "seen"})

    built[2].callback_query.outer_middleware(outer)
    dispatcher.include_routers(*built)
    index_callbacks(dispatcher)
    bot = Bot("42:TEST")
    try:
        assert await dispatcher.feed_update(bot, _update(1, text="hi")) == "hi from texts"
        assert entered == ["texts"]  # the routers without message handlers were not entered
        entered.clear()
        assert await dispatcher.feed_update(bot, _update(2, data="one:5")) == "one 5 from buttons"
        assert entered == ["buttons"]  # texts has a root filter for buttons but no button handler
        entered.clear()
        assert await dispatcher.feed_update(bot, _update(3, data="two:6")) == "two 6 seen"
        assert entered == ["guarded's outer middleware", "guarded"]  # buttons: not its kind
        entered.clear()
        assert await dispatcher.feed_update(bot, _update(4, data="three:1")) == "anything from catch_all"
        assert entered == ["guarded's outer middleware"]  # an outer middleware runs as before
    finally:
        await bot.session.close()
