"""Numbers and bytes the database cannot take (issue 10, 4): a clear translated refusal, nothing stored, the
flow's state kept."""

from __future__ import annotations

from sqlalchemy import func, select

from services.people import person_by_telegram_id
from storage.helpdesk import Question
from tests.conversation import register
from tests.fuzzing import callback_classes
from tests.harness import Harness
from tests.test_helpdesk_flow import ASKER_K, desk_bot, user  # noqa: F401 - the fixture

APOLOGY = "something went wrong"
TOO_BIG = ("2147483648", "-2147483649", "9223372036854775808", "99999999999999999999999999")


def no_apology(person) -> None:  # noqa: ANN001
    assert not any(APOLOGY in (t or "") for t in person.texts), person.dump()


async def test_a_nul_byte_in_a_helpdesk_question_is_refused_and_the_question_goes_on(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    asker = user(bot, ASKER_K)
    await asker.send("/ask")
    await asker.tap(contains="Local budget")
    await asker.send("May the council\x00 move money between budget lines?")
    assert "cannot be saved (a zero byte)" in asker.last.text
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Question)) == 0
    await asker.send("May the council move money between budget lines?")  # the flow is still waiting for it
    await asker.tap("Submit the question")
    assert "Your question is received: No. 1" in asker.last.text
    no_apology(asker)


async def test_a_contact_with_an_empty_or_odd_phone_is_refused_and_registration_goes_on(bot: Harness) -> None:
    person = bot.user(3601, language_code="en", phone="+996700003601")
    await person.send("/start")
    await person.tap("English")
    for phone in ("", "abc", "+", "12"):
        await person.share_contact(phone)
        assert "This phone number cannot be read" in person.last.text
    async with bot.db.session() as session:
        assert (await person_by_telegram_id(session, 3601)).phone_hash is None
    await person.share_contact()
    assert "Thank you, your number is confirmed." in person.texts
    no_apology(person)


async def test_forged_buttons_with_numbers_out_of_range_are_refused_in_every_flow(bot: Harness) -> None:
    person = await register(bot, 3602)
    for cls in callback_classes():
        fields = list(cls.model_fields.items())
        ints = [i for i, (_name, info) in enumerate(fields) if info.annotation is int]
        for position in ints:
            for number in TOO_BIG:
                values = [number if i == position else ("1" if info.annotation is int else "x")
                          for i, (_name, info) in enumerate(fields)]
                data = cls.__separator__.join((cls.__prefix__, *values))
                await person.tap_data(data, message=person.messages[0])
                assert person.last_answer == ("This button is no longer active.", True), (data, person.last_answer)
    await person.tap_data("lang:\x00", message=person.messages[0])
    assert person.last_answer == ("This button is no longer active.", True)
    no_apology(person)
