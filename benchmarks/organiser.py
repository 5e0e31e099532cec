"""An organiser never waits: with N registered villagers (100,000 by default) in an aiyl aimak, the organiser
publishes a round's ballot (``ballot``), announces an event to the whole aiyl aimak (``event``), moves the date of
an event all of them were invited to (``change``), cancels it (``cancel``) or publishes its outcome (``outcome``)
through the Bot API emulator; the time until the organiser has the answer (target <= 1 s), and, while the notices
are being queued and sent in the background, how long another villager waits for /help, next to the same /help on
the idle bot (the baseline, same run).

    .venv/bin/python -m benchmarks.organiser [--people 100000] [--backends sqlite,postgres]
        [--what ballot,event,change,cancel,outcome]
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
from benchmarks.result import result
from bot.emulator import Emulator
from services import events, voting
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.roles import Role, grant, roles_of
from storage.db import Database
from storage.delivery import OutboxMessage
from storage.models import Village, utcnow
from tests.backends import database
from tests.harness import Harness, harness_settings

ORGANISER = 2001
OTHER = 2002
TARGET = 1.0
WHAT = ("ballot", "event", "change", "cancel", "outcome")
ACTIONS = {"ballot": "publishing of the ballot", "event": "announcement of an event", "change": "change of an "
           "event's date", "cancel": "cancellation of an event", "outcome": "publishing of an event's outcome"}
TOPIC = "Draft local budget for 2027"


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


async def invited_event(db: Database) -> None:
    """An announced event of the whole aiyl aimak, every villager invited (set-based, as its announcement does),
    for the change, the cancellation and the outcome; its notices are not queued, so the outbox is empty."""
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        event = await events.create_event(
            session, roles=await roles_of(session, ORGANISER), aiyl_aimak_id=aimak.id, kind="hearing", topic=TOPIC,
            agenda="1. Revenues", starts_at=(utcnow() + timedelta(days=10)).replace(second=0, microsecond=0),
            place="Club", village_ids=[], whole_aimak=True, reminder_minutes=[1440, 120])
    await events.invite_recipients(db, event)


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


async def change_event(organiser, settings) -> float:  # noqa: ANN001 - TestUser, Settings
    later = (utcnow() + timedelta(days=12)).astimezone(settings.zone).replace(hour=11, minute=0)
    await organiser.send("/events")
    await organiser.tap(contains=TOPIC)
    await organiser.tap("Move the date")
    return await timed(organiser.send(later.strftime("%d.%m.%Y %H:%M")))


async def cancel_event(organiser) -> float:  # noqa: ANN001 - TestUser
    await organiser.send("/events")
    await organiser.tap(contains=TOPIC)
    await organiser.tap("Cancel the event")
    return await timed(organiser.tap("Yes, cancel it and tell the villagers"))


async def publish_outcome(organiser) -> float:  # noqa: ANN001 - TestUser
    await organiser.send("/events")
    await organiser.tap(contains=TOPIC)
    await organiser.tap("Record the outcome")
    for step in ("120", "70", "The draft was read out and discussed.", "Adopt the draft budget", "100 0 0"):
        await organiser.send(step)
    await organiser.tap("No more decisions")
    await organiser.send("Light the main street")
    # The whole update: the answer, then the protocol (DOCX and CSV) for the organiser.
    return await timed(organiser.tap("📤 Publish to the villagers"))


async def run(backend: str, count: int, what: str = "ballot") -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db, Emulator(limits=None) as emu:
            await setup(db, emu, count)
            if what in ("change", "cancel", "outcome"):
                await invited_event(db)
            harness = Harness(emu=emu, db=db, settings=harness_settings(
                emu, db, outbox_per_second=1000.0, outbox_chat_interval=0.0, outbox_concurrency=50))
            await harness.start()
            try:
                organiser = harness.user(ORGANISER, "Gulnara", language_code="en")
                other = harness.user(OTHER, "Other", language_code="en")
                idle_help = await timed(other.send("/help"))
                if what == "event":
                    answered = await announce_event(organiser, harness.settings)
                elif what == "change":
                    answered = await change_event(organiser, harness.settings)
                elif what == "cancel":
                    answered = await cancel_event(organiser)
                elif what == "outcome":
                    answered = await publish_outcome(organiser)
                else:
                    answered = await publish_ballot(organiser)
                text = next((m.text for m in reversed(organiser.messages) if m.text and m.document is None), "")
                busy = []
                deadline = time.monotonic() + 60
                queued = 0
                while time.monotonic() < deadline and queued < count:
                    busy.append(await timed(other.send("/help")))
                    async with db.session() as session:
                        queued = await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
                print(f"{backend}: {count:,} villagers; the organiser's {ACTIONS[what]} answered in {answered:.2f} s "
                      f"(target <= {TARGET:g} s): {text.splitlines()[0] if text else ''!r}")
                print(f"    meanwhile /help from another person: max {max(busy):.2f} s, median "
                      f"{sorted(busy)[len(busy) // 2]:.2f} s over {len(busy)} tries (idle bot: {idle_help:.2f} s); "
                      f"{queued:,} notices queued after {60 - max(0.0, deadline - time.monotonic()):.0f} s")
                result("organiser", backend, **{f"{what}_answered_s": answered, f"{what}_help_max_s": max(busy),
                                                "help_idle_s": idle_help})
            finally:
                await harness.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--what", default=",".join(WHAT), help="comma-separated, of: " + ", ".join(WHAT))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for what in args.what.split(","):
        for backend in args.backends.split(","):
            await run(backend, args.people, what)


if __name__ == "__main__":
    asyncio.run(main())
