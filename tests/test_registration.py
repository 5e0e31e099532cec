"""Registration, profile, language and /forget, as a person does it on the phone."""

from __future__ import annotations

from sqlalchemy import select

from services.people import person_by_telegram_id
from storage.models import Person
from tests.harness import Harness


async def register(bot: Harness, user_id: int = 1001, *, language: str = "Кыргызча", village: str = "Арал",
                   aimak: str = "Көк-Ирим", sex: str | None = "Woman", age: str | None = "18–35",
                   phone: str | None = None):
    user = bot.user(user_id, phone=phone or f"+99670{user_id:07d}")
    await user.send("/start")
    await user.tap(language)
    await user.share_contact()
    await user.tap(aimak)
    await user.tap(village)
    if sex is None:
        await user.tap(contains="Skip") if language == "English" else await user.tap(index=-1)
    else:
        await user.tap(index=0)
        await user.tap(sex)
        await user.tap(age)
    return user


async def test_full_registration_in_english(bot: Harness) -> None:
    user = bot.user(1001, language_code="en", phone="+996700100001")
    await user.send("/start")
    assert user.last.text == "Choose your language:"
    assert user.last.buttons == [["Кыргызча", "Русский"], ["Oʻzbekcha", "Ўзбекча"], ["English"]]
    await user.tap("English")
    assert "Share my phone number" in user.last.reply_keyboard[0][0]
    await user.share_contact()
    assert user.last.text == "Choose your aiyl aimak:"
    await user.tap("Көк-Ирим")
    assert user.last.buttons[0] == ["Арал", "Бирдик"]
    await user.tap("Бирдик")
    await user.tap("Yes, add them")
    await user.tap("Woman")
    await user.tap("36–55")
    assert "you are registered in Бирдик" in user.last.text
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1001)
        assert person is not None and person.is_registered
        assert (person.language, person.sex, person.age_band) == ("en", "f", "36-55")
        assert person.village.code == "birdik" and person.phone_tail == "01"
        phones = (await session.scalars(select(Person.phone_hash))).all()
    assert all("700100001" not in (p or "") for p in phones)


async def test_someone_elses_contact_is_refused(bot: Harness) -> None:
    user = bot.user(1002, language_code="en")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact(phone="+996555000111", user_id=4242)
    assert "not your own contact" in user.last.text
    await user.share_contact(phone="+996555000111", user_id=None)
    assert "not your own contact" in user.last.text
    await user.send("+996555000111")
    assert "Share my phone number" in user.last.text
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1002)
        assert person.phone_hash is None


async def test_profile_shows_and_edits(bot: Harness) -> None:
    user = bot.user(1003, language_code="en", phone="+996700100003")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")
    await user.tap("Арал")
    await user.tap("Skip")
    await user.send("/profile")
    assert "Village: Арал" in user.last.text and "Sex: not given" in user.last.text
    await user.tap("Change village")
    await user.tap("Көк-Ирим")
    await user.tap("Бирдик")
    assert "Saved." in user.last.text and "Village: Бирдик" in user.last.text
    await user.send("/language")
    await user.tap("Русский")
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1003)
        assert person.language == "ru" and person.village.code == "birdik"


async def test_forget_after_confirmation(bot: Harness) -> None:
    user = bot.user(1004, language_code="en", phone="+996700100004")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")
    await user.tap("Арал")
    await user.tap("Skip")
    await user.send("/forget")
    await user.tap("No, keep it")
    assert user.last.text == "Nothing was deleted."
    await user.send("/forget")
    await user.tap("Yes, delete my data")
    assert "Your data is deleted" in user.last.text
    async with bot.db.session() as session:
        assert await person_by_telegram_id(session, 1004) is None
        rows = (await session.scalars(select(Person).where(Person.forgotten_at.is_not(None)))).all()
        assert len(rows) == 1 and rows[0].village_id is not None and rows[0].phone_hash is None
