"""Bad input gets a clear answer and loses nothing; each update is handled once; errors don't crash."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message

from services.people import person_by_telegram_id
from storage.models import ProcessedUpdate
from tests.conversation import register
from tests.harness import Harness


async def test_unknown_command_and_unexpected_content(bot: Harness) -> None:
    user = await register(bot, 1101)
    await user.send("/dance")
    assert "I don't know this command" in user.last.text
    for send in (user.send_sticker, user.send_voice):
        await send()
        assert "cannot use this kind of message" in user.last.text
    await user.send_photo()
    assert "cannot use this kind of message" in user.last.text
    await user.send("hello?")
    assert "did not understand" in user.last.text


async def test_wrong_content_mid_flow_keeps_the_flow(bot: Harness) -> None:
    user = bot.user(1102, language_code="en", phone="+996700001102")
    await user.send("/start")
    await user.tap("English")
    await user.send_sticker()
    assert "Share my phone number" in user.last.text  # asked again, nothing lost
    await user.send_photo()
    assert "Share my phone number" in user.last.text
    await user.share_contact()
    await user.tap("Көк-Ирим")
    villages = user.last
    await user.send("Арал")  # typed where a button is expected
    assert "answer with the buttons" in user.last.text
    await user.tap("Арал", message=villages)
    assert user.last.text.startswith("One more, optional step")


async def test_huge_text_gets_a_clear_answer(bot: Harness) -> None:
    user = await register(bot, 1103)
    await user.send("я" * 4090)
    assert "too long: 4,090 characters" in user.last.text and "limit is 4,000" in user.last.text


async def test_stale_and_forged_buttons(bot: Harness) -> None:
    user = await register(bot, 1104)
    first = user.messages[0]  # the language question, answered long ago
    await user.tap_data("place:village:99999", message=first)
    assert user.last_answer == ("This button is no longer active. Send /help to see what you can do now.", True)
    await user.tap_data("nonsense")
    assert user.last_answer[1] is True
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1104)
        assert person.village.code == "aral"  # nothing changed


async def test_forged_village_of_another_aiyl_aimak_is_refused(bot: Harness) -> None:
    user = bot.user(1105, language_code="en", phone="+996700001105")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")
    cholpon_village = 3  # sample villages of Cholpon follow Kök-Irim's two
    await user.tap_data(f"place:village:{cholpon_village}")
    assert user.last_answer[1] is True
    async with bot.db.session() as session:
        assert not (await person_by_telegram_id(session, 1105)).is_registered


async def test_an_update_delivered_twice_is_handled_once(bot: Harness) -> None:
    user = bot.user(1106, language_code="en")
    await user.send("/start", duplicate=True)
    assert [m.text for m in user.messages] == ["Choose your language:"]
    update = await user.send("/help")
    await bot.emu.redeliver(update)
    assert len(user.messages) == 2


async def test_an_unexpected_error_is_logged_and_apologised_for(bot: Harness, caplog) -> None:
    async def explode(message: Message) -> None:
        raise RuntimeError("boom")

    bot.app.dispatcher.message.register(explode, Command("explode"))
    user = await register(bot, 1107)
    update = await user.send("/explode")
    assert "Sorry, something went wrong on our side" in user.last.text
    assert f"update {update['update_id']} failed" in caplog.text
    # The failed update gave its claim back with the rest of its work: delivered again, it is tried again.
    async with bot.db.session() as session:
        assert await session.get(ProcessedUpdate, update["update_id"]) is None
    await bot.emu.redeliver(update)
    assert sum("Sorry, something went wrong" in (t or "") for t in user.texts) == 2
    await user.send("/help")  # the dispatcher goes on
    assert "What I can do" in user.last.text


async def test_a_slash_alone_is_an_unknown_command(bot: Harness) -> None:
    user = await register(bot, 1108)
    for text in ("/", "/ ", "/ help", "/\n"):
        await user.send(text)
        assert "I don't know this command" in user.last.text, (text, user.dump())
    assert not any("Sorry, something went wrong" in (t or "") for t in user.texts)
