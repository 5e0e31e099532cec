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


async def test_double_taps_on_ballot_toggles(db) -> None:  # noqa: ANN001
    from tests.harness import running_bot
    from tests.test_voting_services import add_villager, protocol_round

    await protocol_round(db)
    await add_villager(db, 3305, "aral")
    async with running_bot(db, places=False) as bot:
        voter = bot.user(3305, language_code="en")
        await voter.send("/vote")
        toggle = voter.last.buttons[0][0]
        await double_tap(bot, voter, toggle)
        await double_tap(bot, voter, voter.last.buttons[1][0])
        await voter.tap(contains="Next")
        await double_tap(bot, voter, "✅ Confirm")
        assert any("Your ballot is" in (t or "") for t in voter.texts), voter.dump()
        no_apology(voter)


async def test_double_taps_on_helpdesk_screens(db) -> None:  # noqa: ANN001
    from tests.harness import running_bot
    from tests.test_helpdesk_flow import ASKER_K, GROUP, LAWYER_1, seed, user

    async with running_bot(db, helpdesk_group_chat_id=GROUP, default_language="en") as bot:
        group = bot.emu.group(GROUP, "Union lawyers")
        await seed(db)
        asker = user(bot, ASKER_K)
        await asker.send("/ask")
        topic = next(b for row in asker.last.buttons for b in row if "Local budget" in b)
        await double_tap(bot, asker, topic)
        await asker.send("May the council move money between budget lines in the middle of the year?")
        await double_tap(bot, asker, "Submit the question")
        card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
        lawyer = user(bot, LAWYER_1)
        take = next(b for row in card.buttons for b in row if "Take" in b)
        await lawyer.tap(take, message=card, wait=False)
        await lawyer.tap(take, message=card, wait=False)
        await bot.emu.settle()
        await double_tap(bot, lawyer, "Ask for details")
        await asker.send("/myquestions")
        await double_tap(bot, asker, asker.last.buttons[0][0])
        no_apology(asker)
        no_apology(lawyer)
