"""Registered villagers in bulk for the benchmarks that need a whole aiyl aimak or country (``memory``, ``scale``,
``organiser``): one multi-row INSERT per 10,000 people, bypassing registration, which none of them measures."""

from __future__ import annotations

from sqlalchemy import insert

from bot.emulator import Emulator
from storage.db import Database
from storage.models import Person, utcnow

CHUNK = 10_000
LANGUAGES = ("ky", "ru", "uz", "en")


async def register(db: Database, villages: list[int], count: int, *, first: int, hash_prefix: str,
                   aiyl_aimak_id: int | None = None, emu: Emulator | None = None) -> None:
    """``count`` people with Telegram ids from ``first``, spread over ``villages`` and the four languages; each
    also made a user of the emulator when one is given."""
    now = utcnow()
    extra = {} if aiyl_aimak_id is None else {"aiyl_aimak_id": aiyl_aimak_id}
    for start in range(0, count, CHUNK):
        async with db.session() as session:
            await session.execute(insert(Person), [
                {"telegram_id": first + i, "first_name": f"P{i}", "language": LANGUAGES[i % len(LANGUAGES)],
                 "village_id": villages[i % len(villages)], **extra, "phone_hash": f"{hash_prefix}{i}",
                 "registered_at": now, "created_at": now} for i in range(start, min(count, start + CHUNK))])
    if emu is not None:
        for i in range(count):
            emu.ensure_user(first + i, f"P{i}")
