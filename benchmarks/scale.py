"""Scale: a notice to 100,000 people. Enqueue time (``services.outbox.enqueue_to_people``: rendered once per
language and village, set-based INSERT … SELECT in committed chunks; target <= 10 s on PostgreSQL), the sender's
drain rate with Telegram's limits lifted (measured on the 100,000 for ``--drain-seconds``), and what a
1,000,000-person national notice would take at the cap (30/s, and 1,000/s with paid broadcasts) with 1, 2 and 4
sender processes: EXTRAPOLATED from the one measured process (n processes = min(n x measured rate, cap)).

    .venv/bin/python -m benchmarks.scale [--people 100000] [--drain-seconds 30] [--backends postgres,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.population import register
from benchmarks.result import result
from bot.app import Jamaat
from bot.emulator import Emulator
from jobs.sender import send_pending
from services import outbox
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database
from storage.delivery import OutboxMessage
from storage.models import Person, Village
from tests.harness import harness_settings

ENQUEUE_TARGET = 10.0
NATIONAL = 1_000_000
CAPS = {"Telegram's 30/s": 30.0, "paid broadcasts, 1,000/s": 1000.0}


async def people(db: Database, emu: Emulator, count: int, first: int = 20_000_000) -> None:
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        villages = list((await session.scalars(select(Village.id))).all())
    await register(db, villages, count, first=first, hash_prefix="s", emu=emu)


def duration(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{int(hours)} h {int(rest // 60):02d} min" if hours else f"{rest / 60:.1f} min"


async def run(db: Database, label: str, count: int, drain_seconds: float) -> None:
    await db.upgrade()
    async with Emulator(limits=None) as emu:
        await people(db, emu, count)
        settings = harness_settings(emu, db, outbox_per_second=1_000_000.0, outbox_chat_interval=0.0,
                                    outbox_concurrency=100, outbox_batch=1000)
        app = Jamaat.create(settings, db=db)
        try:
            started = time.perf_counter()
            async with db.session() as session:
                broadcast_id = await outbox.create_broadcast(session, kind="benchmark", subject="scale",
                                                             created_by=None, title="National notice", ready=False)
            queued = await outbox.enqueue_to_people(
                db, broadcast_id=broadcast_id, dedupe_prefix="scale:person:", people=Person.telegram_id.is_not(None),
                render=lambda language, village: outbox.Notice(
                    text=f"<b>Public hearing</b> on the republican budget ({language}, village {village})"))
            enqueue = time.perf_counter() - started
            started, sent = time.perf_counter(), 0
            while time.perf_counter() - started < drain_seconds:
                report = await send_pending(app, limit=settings.outbox_batch)
                sent += report.sent
                if report.claimed == 0:
                    break
            drained = time.perf_counter() - started
            async with db.session() as session:
                left = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.status.in_(outbox.OPEN_STATES)))
        finally:
            await app.close()
    rate = sent / drained
    print(f"{label}: {queued:,} notices queued in {enqueue:.1f} s "
          f"({'target <= 10 s on PostgreSQL' if label == 'postgresql' else 'no target on SQLite'}); "
          f"drain with limits lifted: {sent:,} sent in {drained:.1f} s = {rate:,.0f} msg/s per process "
          f"({left:,} still queued)")
    result("scale", label, enqueue_s=enqueue, drain_per_s=rate, people=queued)
    for cap_label, cap in CAPS.items():
        times = ", ".join(f"{n} process{'es' if n > 1 else ''}: {duration(NATIONAL / min(n * rate, cap))}"
                          for n in (1, 2, 4))
        print(f"    EXTRAPOLATED 1,000,000-person notice at {cap_label}: {times}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--drain-seconds", type=float, default=30.0)
    parser.add_argument("--backends", default="postgres,sqlite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for backend in args.backends.split(","):
        if backend == "postgres":
            from tests.backends import POSTGRES_URL, postgres_schema

            async with postgres_schema() as schema:
                db = Database(POSTGRES_URL, schema=schema)
                try:
                    await run(db, "postgresql", args.people, args.drain_seconds)
                finally:
                    await db.dispose()
        else:
            with tempfile.TemporaryDirectory(prefix="jamaat-scale-") as folder:
                db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'scale.db'}")
                try:
                    await run(db, "sqlite", args.people, args.drain_seconds)
                finally:
                    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
