"""An organiser never waits: with N registered villagers (100,000 by default) in an aiyl aimak, the organiser
publishes a round's ballot (``ballot``) or announces an event to the whole aiyl aimak (``event``) through the Bot
API emulator; the time until the organiser has the answer (target <= 1 s), and, while the notices are being
queued and sent in the background, how long another villager waits for /help, next to the same /help on the idle
bot (the baseline, same run).

    .venv/bin/python -m benchmarks.organiser [--people 100000] [--backends sqlite,postgres] [--what ballot,event]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.population import register
from bot.emulator import Emulator
from services import voting
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.roles import Role, grant
from storage.db import Database
from storage.delivery import OutboxMessage
from storage.models import Village, utcnow
from tests.backends import database
from tests.harness import Harness, harness_settings

ORGANISER = 2001
OTHER = 2002
TARGET = 1.0


async def setup(db: Database, emu: Emulator, count: int) -> None:
    await db.upgrade()
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, ORGANISER, Role.ORGANISER, aimak.id)
        villages = list((await session.scalars(select(Village.id).where(Village.aiyl_aimak_id == aimak.id))).all())
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Priorities 2027", created_by=ORGANISER,
                                        vote_ends_at=utcnow() + timedelta(days=7), reminder_hours=())
        for n in range(5):
            await voting.add_problem(session, rnd, title_ky=f"Маселе {n}", title_ru=f"Проблема {n}", by=ORGANISER)
    await register(db, villages, count, first=30_000_000, hash_prefix="o", aiyl_aimak_id=aimak.id, emu=emu)


async def timed(coroutine) -> float:  # noqa: ANN001
    started = time.perf_counter()
    await coroutine
    return time.perf_counter() - started


async def publish_ballot(organiser) -> float:  # noqa: ANN001 - TestUser
    await organiser.send("/rounds")
    await organiser.tap(contains="Priorities 2027")
    return await timed(organiser.tap("Publish the ballot and open voting"))


async def announce_event(organiser, settings) -> float:  # noqa: ANN001 - TestUser, Settings
    starts = (utcnow() + timedelta(days=10)).astimezone(settings.zone).replace(hour=15, minute=0)
    await organiser.send("/event")
    await organiser.tap("Public hearing")
    await organiser.send("Draft local budget for 2027")
    await organiser.send("-")
    await organiser.send(starts.strftime("%d.%m.%Y %H:%M"))
    await organiser.send("Club")
    await organiser.tap(contains="The whole aiyl aimak")
    await organiser.tap("Done")  # the villages
    await organiser.tap("No documents")
    return await timed(organiser.tap("📤 Send"))


async def run(backend: str, count: int, what: str = "ballot") -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db, Emulator(limits=None) as emu:
            await setup(db, emu, count)
            harness = Harness(emu=emu, db=db, settings=harness_settings(
                emu, db, outbox_per_second=1000.0, outbox_chat_interval=0.0, outbox_concurrency=50))
            await harness.start()
            try:
                organiser = harness.user(ORGANISER, "Gulnara", language_code="en")
                other = harness.user(OTHER, "Other", language_code="en")
                idle_help = await timed(other.send("/help"))
                if what == "event":
                    answered = await announce_event(organiser, harness.settings)
                else:
                    answered = await publish_ballot(organiser)
                text = organiser.last.text or ""
                busy = []
                deadline = time.monotonic() + 60
                queued = 0
                while time.monotonic() < deadline and queued < count:
                    busy.append(await timed(other.send("/help")))
                    async with db.session() as session:
                        queued = await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
                action = "announcement of an event" if what == "event" else "publishing of the ballot"
                print(f"{backend}: {count:,} villagers; the organiser's {action} answered in {answered:.2f} s "
                      f"(target <= {TARGET:g} s): {text.splitlines()[0] if text else ''!r}")
                print(f"    meanwhile /help from another person: max {max(busy):.2f} s, median "
                      f"{sorted(busy)[len(busy) // 2]:.2f} s over {len(busy)} tries (idle bot: {idle_help:.2f} s); "
                      f"{queued:,} notices queued after {60 - max(0.0, deadline - time.monotonic()):.0f} s")
            finally:
                await harness.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--what", default="ballot,event", help="ballot, event or both (comma-separated)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for what in args.what.split(","):
        for backend in args.backends.split(","):
            await run(backend, args.people, what)


if __name__ == "__main__":
    asyncio.run(main())
