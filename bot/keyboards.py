"""aiogram's inline keyboard builder without its deep copies.

aiogram's ``InlineKeyboardBuilder`` deep-copies every button it holds each time one is added (``add`` starts from
``export()``) and again when the keyboard is made: the five languages of registration's first step took ~0.3 ms
of CPU, six times the cost of making the same buttons directly, and a page of eight places more. This builder
keeps aiogram's API and its rows (a row fills up to eight buttons, ``adjust``, ``attach``, ``as_markup``) and
copies only the lists of rows: the buttons are shared, as nothing changes a button once it is made.
Its ``button`` makes the button from the fields given only: aiogram's passes all thirteen, mostly None, through
pydantic's validation and aiogram's pass that drops unset values (the five languages: 129 -> 77 µs).
Handlers use this one (``tests/test_keyboards.py``)."""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils import keyboard


class InlineKeyboardBuilder(keyboard.InlineKeyboardBuilder):
    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]

    def button(self, *, text: str, callback_data: str | CallbackData | None = None,  # type: ignore[override]
               **fields: Any) -> InlineKeyboardBuilder:
        fields["callback_data"] = callback_data.pack() if isinstance(callback_data, CallbackData) else callback_data
        self.add(InlineKeyboardButton(text=text, **{k: v for k, v in fields.items() if v is not None}))
        return self
