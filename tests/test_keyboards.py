"""Inline keyboards are built with ``bot.keyboards.InlineKeyboardBuilder``: aiogram's rows, without aiogram's
deep copy of every button at every button added."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from aiogram.utils import keyboard as aiogram_keyboard

from bot.keyboards import InlineKeyboardBuilder
from handlers.people.buttons import PlaceCB

ROOT = Path(__file__).resolve().parent.parent
Build = Callable[[type[aiogram_keyboard.InlineKeyboardBuilder]], aiogram_keyboard.InlineKeyboardBuilder]


def _buttons(builder: aiogram_keyboard.InlineKeyboardBuilder, count: int, kind: str = "village") -> None:
    for n in range(count):
        builder.button(text=f"{kind} {n}", callback_data=PlaceCB(kind=kind, id=n))


def _plain(cls: type[aiogram_keyboard.InlineKeyboardBuilder]) -> aiogram_keyboard.InlineKeyboardBuilder:
    builder = cls()
    _buttons(builder, 11)  # past a row's eight
    return builder


def _adjusted(cls: type[aiogram_keyboard.InlineKeyboardBuilder]) -> aiogram_keyboard.InlineKeyboardBuilder:
    builder = cls()
    _buttons(builder, 7)
    builder.adjust(2, 1)
    builder.button(text="Skip", callback_data="skip")  # a button after adjust joins the last row
    return builder


def _repeated(cls: type[aiogram_keyboard.InlineKeyboardBuilder]) -> aiogram_keyboard.InlineKeyboardBuilder:
    builder = cls()
    _buttons(builder, 9)
    return builder.adjust(3, 1, repeat=True)


def _attached(cls: type[aiogram_keyboard.InlineKeyboardBuilder]) -> aiogram_keyboard.InlineKeyboardBuilder:
    builder = cls()
    _buttons(builder, 5)
    builder.adjust(2)
    navigation = cls()
    navigation.button(text="◀️", callback_data=PlaceCB(kind="page", id=0))
    navigation.button(text="▶️", callback_data=PlaceCB(kind="page", id=2))
    navigation.button(text="Share", url="https://t.me/share/url?url=x")
    return builder.attach(navigation)


@pytest.mark.parametrize("build", [_plain, _adjusted, _repeated, _attached])
def test_the_rows_are_aiograms(build: Build) -> None:
    ours = build(InlineKeyboardBuilder).as_markup()
    theirs = build(aiogram_keyboard.InlineKeyboardBuilder).as_markup()
    assert ours == theirs
    assert [len(row) for row in ours.inline_keyboard] == [len(row) for row in theirs.inline_keyboard]


def test_a_markup_made_does_not_change_with_its_builder() -> None:
    builder = InlineKeyboardBuilder()
    _buttons(builder, 3)
    first = builder.as_markup()
    builder.button(text="later", callback_data="later")
    builder.adjust(1)
    assert [[button.text for button in row] for row in first.inline_keyboard] == [["village 0", "village 1",
                                                                                   "village 2"]]


def test_no_deep_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: object) -> None:
        raise AssertionError("a keyboard was deep-copied")

    monkeypatch.setattr(aiogram_keyboard, "deepcopy", refuse)
    for build in (_plain, _adjusted, _repeated, _attached):
        build(InlineKeyboardBuilder).as_markup()
    with pytest.raises(AssertionError, match="deep-copied"):  # the check itself works
        _plain(aiogram_keyboard.InlineKeyboardBuilder).as_markup()


def test_handlers_use_the_projects_builder() -> None:
    offenders = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "aiogram.utils.keyboard":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
