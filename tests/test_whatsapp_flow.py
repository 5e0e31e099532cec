"""A villager on WhatsApp, end to end through the WhatsApp Cloud API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.people import person_by_telegram_id
from storage.db import Database
from tests.harness import Harness, running_bot


@pytest.fixture
async def wabot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, whatsapp=True) as harness:
        yield harness


async def test_registration_from_whatsapp(wabot: Harness) -> None:
    villager = wabot.wa_user("996700200001", "Aigul")
    await villager.send("salam")
    assert villager.last.text == "Тилди тандаңыз:" and len(villager.last.rows) == 4, villager.dump()
    await villager.tap("English")
    assert "Choose your aiyl aimak" in villager.last.text, villager.dump()
    await villager.tap("Көк-Ирим")
    await villager.tap("Бирдик")
    await villager.tap("Yes, add them")
    await villager.tap("Woman")
    await villager.tap("36–55")
    assert "you are registered in Бирдик" in villager.last.text, villager.dump()
    print(villager.dump())
