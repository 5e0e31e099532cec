"""Helpers that read like a person using the phone."""

from __future__ import annotations

from bot.emulator import TestUser
from tests.harness import Harness


async def register(bot: Harness, user_id: int, *, language: str = "English", aimak: str = "Көк-Ирим",
                   village: str = "Арал", sex: str | None = None, age: str | None = None,
                   phone: str | None = None, language_code: str = "en") -> TestUser:
    """/start → language → own contact → aiyl aimak → village → (sex and age group, or skip)."""
    user = bot.user(user_id, language_code=language_code, phone=phone or f"+99670{user_id:07d}")
    await user.send("/start")
    await user.tap(language)
    await user.share_contact()
    await user.tap(aimak)
    await user.tap(village)
    if sex is None and age is None:
        await user.tap(index=1)  # "Skip"
    else:
        await user.tap(index=0)  # "Yes, add them"
        await user.tap(sex or "Prefer not to say")
        await user.tap(age or "Prefer not to say")
    return user
