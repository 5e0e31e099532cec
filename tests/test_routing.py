"""bot/routes.py: a button reaches only the routers with a handler of its kind; what answers it is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter

from bot.routes import Routes, _ButtonKinds, index_callbacks
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
