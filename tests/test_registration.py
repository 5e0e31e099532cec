"""Registration, profile, language and /forget, as a person does it on the phone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from services.people import person_by_telegram_id
from services.places import REQUIRED_COLUMNS, import_places
from storage.db import Database
from storage.models import Person
from tests.harness import Harness, running_bot


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


async def test_sex_and_age_group_deleted_from_the_profile(bot: Harness) -> None:
    user = await register(bot, 1004, language="English", aimak="Көк-Ирим", village="Арал", sex="Man", age="56+")
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1004)
        assert (person.sex, person.age_band) == ("m", "56+") and person.consent_at is not None
    await user.send("/profile")
    await user.tap("Delete sex and age group")
    assert "Your sex and age group are deleted." in user.last.text and "Sex: not given" in user.last.text
    assert "Delete sex and age group" not in str(user.last.buttons)
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1004)
        assert (person.sex, person.age_band, person.consent_at) == (None, None, None)


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


async def test_more_aiyl_aimaks_than_a_page_and_no_oblasts_page_through_them_all(db: Database, tmp_path: Path) -> None:
    """A municipality's own file without oblasts and districts: its aiyl aimaks come a page at a time (8 a page,
    by name), and one on the second page registers as any other."""
    places = tmp_path / "places.csv"
    rows = [",".join(REQUIRED_COLUMNS)] + [f"a{i:02d},Айыл {i:02d},Аил {i:02d},v{i:02d},Кыштак {i:02d},Село {i:02d}"
                                           for i in range(11)]
    places.write_text("\n".join(rows) + "\n", encoding="utf-8")
    await db.upgrade()
    async with db.session() as session:
        await import_places(session, places)
    async with running_bot(db, places=False) as bot:
        user = bot.user(1201, language_code="en", phone="+996700120001")
        await user.send("/start")
        await user.tap("English")
        await user.share_contact()
        assert user.last.text == "Choose your aiyl aimak:"
        assert user.last.buttons == [["Айыл 00", "Айыл 01"], ["Айыл 02", "Айыл 03"], ["Айыл 04", "Айыл 05"],
                                     ["Айыл 06", "Айыл 07"], ["▶️"]]
        await user.tap("▶️")
        assert user.last.buttons == [["Айыл 08", "Айыл 09"], ["Айыл 10"], ["◀️"]]
        await user.tap("Айыл 10")
        assert user.last.buttons[0] == ["Кыштак 10"]
        await user.tap("Кыштак 10")
        await user.tap("Skip")
        async with db.session() as session:
            person = await person_by_telegram_id(session, 1201)
            assert person is not None and person.is_registered and person.village.code == "v10"
