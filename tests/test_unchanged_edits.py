"""Double taps: the second tap's edit changes nothing, Telegram answers "message is not modified", and that is a
success for the whole bot (no apology), in every flow."""

from __future__ import annotations

from bot.emulator import TestUser
from tests.conversation import register
from tests.harness import Harness

APOLOGY = "something went wrong"


def no_apology(user: TestUser) -> None:
    assert not any(APOLOGY in (text or "") for text in user.texts), user.dump()
    assert not any(APOLOGY in (text or "") for text, _alert in user.callback_answers), user.callback_answers


async def double_tap(bot: Harness, user: TestUser, text: str) -> None:
    """Two taps on the same button before the first answer arrives, as a shaky thumb does."""
    message = user._keyboard_message(None)
    await user.tap(text, message=message, wait=False)
    await user.tap(text, message=message, wait=False)
    await bot.emu.settle()


async def test_the_emulator_answers_not_modified_like_telegram(bot: Harness) -> None:
    user = await register(bot, 3301)
    params = {"chat_id": user.id, "message_id": user.last.message_id, "text": "Same text"}
    assert (await bot.emu.call("editMessageText", params))[0] == 200
    status, body = await bot.emu.call("editMessageText", params)
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")


async def test_double_tap_on_the_language_keeps_the_registration_going(bot: Harness) -> None:
    user = bot.user(3304, language_code="en", phone="+996700003304")
    await user.send("/start")
    await double_tap(bot, user, "English")
    await user.share_contact()
    assert "Thank you, your number is confirmed." in user.texts, user.dump()
    no_apology(user)


async def test_double_taps_in_registration_and_profile(bot: Harness) -> None:
    user = bot.user(3302, language_code="en", phone="+996700003302")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await double_tap(bot, user, "Көк-Ирим")
    await double_tap(bot, user, "Арал")
    await double_tap(bot, user, "Yes, add them")
    await double_tap(bot, user, "Woman")
    await double_tap(bot, user, "Prefer not to say")
    assert any("you are registered" in (t or "") for t in user.texts), user.dump()
    await user.send("/profile")
    await double_tap(bot, user, user.last.buttons[0][0])
    no_apology(user)


async def test_edit_to_the_same_content_is_a_success(bot: Harness) -> None:
    """The central rule, whatever the flow: an edit that changes nothing returns as if it had been made."""
    user = await register(bot, 3303)
    message_id = user.last.message_id
    await bot.app.bot.edit_message_text(chat_id=user.id, message_id=message_id, text="Same text")
    result = await bot.app.bot.edit_message_text(chat_id=user.id, message_id=message_id, text="Same text")
    assert result is True
    await bot.app.bot.edit_message_reply_markup(chat_id=user.id, message_id=message_id)
    result = await bot.app.bot.edit_message_reply_markup(chat_id=user.id, message_id=message_id)
    assert result is True
