"""Reaching every villager, end to end through the emulator with the whole country loaded: typed search in at most
four taps from /start, a village link in at most three, oblast → district → aiyl aimak → village with buttons,
and the villager an organiser registered without a smartphone joining their own row later."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.emulator import TestUser
from services.assisted import register_assisted
from services.people import person_by_telegram_id
from services.places import COUNTRY_PLACES, ensure_link_code, import_places
from services.roles import Roles
from storage.db import Database
from storage.models import Village
from tests.harness import PHONE_HASH_KEY, Harness, running_bot

KOK_IRIM = "41703223806000"


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Harness]:
    await db.upgrade()
    async with db.session() as session:
        await import_places(session, COUNTRY_PLACES)
    async with running_bot(db, places=False) as harness:
        yield harness


class Counted:
    """A villager whose taps (buttons and the contact button) are counted; typing is not a tap."""

    def __init__(self, user: TestUser) -> None:
        self.user = user
        self.taps = 0

    async def tap(self, *args, **kwargs) -> None:
        self.taps += 1
        await self.user.tap(*args, **kwargs)

    async def share_contact(self) -> None:
        self.taps += 1
        await self.user.share_contact()


async def village_of(bot: Harness, telegram_id: int) -> tuple[str, str]:
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, telegram_id)
        assert person is not None and person.is_registered, "not registered"
        return person.village.name_ky, person.aiyl_aimak.code


async def test_typed_search_registers_in_four_taps(bot: Harness) -> None:
    user = Counted(bot.user(1401, language_code="en", phone="+996700140001"))
    await user.user.send("/start")
    await user.tap("English")
    await user.share_contact()
    assert "first letters" in user.user.last.text
    await user.user.send("бирдик")
    labels = [row[0] for row in user.user.last.buttons]
    assert any("Көк-Ирим" in label and label.startswith("📍") for label in labels), labels
    assert len([label for label in labels if label.startswith(("📍", "🏘"))]) <= 8
    await user.tap(contains="Бирдик, Көк-Ирим")
    await user.tap("Skip")
    assert "you are registered in Бирдик" in user.user.last.text
    assert user.taps <= 4
    assert await village_of(bot, 1401) == ("Бирдик", KOK_IRIM)
    # The keyboard of main actions comes instead of a list of commands; /ask is not on it for a non-member.
    keyboard = [button for row in user.user.last.reply_keyboard for button in row]
    assert "🗳 Vote" in keyboard and "👤 Profile" in keyboard and "⚖️ Ask a lawyer" not in keyboard


async def test_latin_letters_find_the_aiyl_aimak_then_its_village(bot: Harness) -> None:
    user = bot.user(1402, language_code="en", phone="+996700140002")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.send("kok irim")
    await user.tap(contains="🏘 Көк-Ирим")
    assert user.last.buttons[0] == ["Арал", "Бирдик"]
    await user.tap("Арал")
    await user.tap("Skip")
    assert await village_of(bot, 1402) == ("Арал", KOK_IRIM)
    nothing = bot.user(1403, language_code="en", phone="+996700140003")
    await nothing.send("/start")
    await nothing.tap("English")
    await nothing.share_contact()
    await nothing.send("zzzz")
    assert "Nothing found" in nothing.last.text
    await nothing.tap("Choose by oblast")
    await nothing.tap("Жалал-Абад облусу")
    await nothing.tap("Тогуз-Торо району")
    await nothing.tap("Көк-Ирим")
    await nothing.tap("◀️ Another aiyl aimak")  # from the village list back to the search and the oblasts
    assert "choose your oblast" in nothing.last.text, nothing.dump()
    await nothing.tap("Жалал-Абад облусу")
    await nothing.tap("Тогуз-Торо району")
    await nothing.tap("Көк-Ирим")
    await nothing.tap("Бирдик")
    await nothing.tap("Skip")
    assert await village_of(bot, 1403) == ("Бирдик", KOK_IRIM)


async def test_a_village_link_registers_in_three_taps(bot: Harness) -> None:
    async with bot.db.session() as session:
        aral = await session.scalar(select(Village).where(Village.code == "41703223806010"))
        code = await ensure_link_code(session, aral)
    user = Counted(bot.user(1404, language_code="en", phone="+996700140004"))
    await user.user.send(f"/start v-{code}")
    await user.tap("English")
    await user.share_contact()
    privacy = next(m for m in user.user.messages if (m.text or "").startswith("🔒"))
    assert len(privacy.text.splitlines()) <= 3 and "phone number as a code" in privacy.text
    await user.tap("Skip")
    assert "you are registered in Арал" in user.user.last.text
    assert user.taps <= 3
    assert await village_of(bot, 1404) == ("Арал", KOK_IRIM)
    await user.user.tap("More", message=privacy)  # the rest, when wanted
    assert "/forget deletes your name" in privacy.text


async def test_a_villager_registered_with_help_joins_their_row(bot: Harness) -> None:
    async with bot.db.session() as session:
        aral = await session.scalar(select(Village).where(Village.code == "41703223806010"))
        helped = await register_assisted(session, Roles(5201, organiser_of=frozenset({aral.aiyl_aimak_id})),
                                         key=PHONE_HASH_KEY, raw_phone="+996700140005", first_name="Бурул",
                                         village_id=aral.id, consent=True)
        helped_id = helped.id
    user = bot.user(1405, language_code="en", phone="+996700140005")
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    assert "you are registered in Арал" in user.last.text or "Welcome" in user.last.text, user.dump()
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, 1405)
        assert person is not None and person.id == helped_id and person.language == "en"


def test_a_notice_fits_a_caption_unless_it_is_long() -> None:
    from bot.text import CAPTION_LIMIT, fits_caption

    assert fits_caption("<b>📣 Public hearing</b>: " + "a" * 900 + " &amp; <a href='https://t.me/x'>link</a>")
    assert not fits_caption("x" * (CAPTION_LIMIT + 1))
    assert fits_caption("<b>" + "x" * CAPTION_LIMIT + "</b>")  # tags do not count
