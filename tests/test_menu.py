"""The main-actions keyboard: a button pressed takes the same path as its command, in every language."""

from __future__ import annotations

from bot.i18n import in_language, make_i18n
from bot.menu import ACTIONS, button_commands, main_keyboard
from tests.harness import Harness
from tests.test_registration import register


def test_every_button_in_every_language_is_its_command() -> None:
    i18n = make_i18n("ky")
    commands = button_commands(i18n)
    assert commands["🗳 Голосовать"] == "vote" and commands["👤 Profile"] == "profile"
    assert set(commands.values()) == {command for command, _ in ACTIONS}
    with in_language(i18n, "ky"):
        full = [b.text for row in main_keyboard(may_ask=True).keyboard for b in row]
        short = [b.text for row in main_keyboard(may_ask=False).keyboard for b in row]
    assert len(full) == 5 and len(short) == 4 and "⚖️ Юристтен суроо" in full and "⚖️ Юристтен суроо" not in short


async def test_a_pressed_button_answers_like_the_command(bot: Harness) -> None:
    user = await register(bot, 1301, language="English", sex=None)
    await user.send("/profile")
    by_command = user.last.text
    await user.send("👤 Profile")
    assert user.last.text == by_command and "Бирдик" not in by_command
    await user.send("👤 Профиль")  # another language's button still works
    assert user.last.text == by_command
