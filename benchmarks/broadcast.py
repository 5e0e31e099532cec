"""Broadcast benchmark: the outbox sender against the Bot API emulator.

    .venv/bin/python -m benchmarks.broadcast                 # (a) 3,000 with limits, (b) 10,000 without
    .venv/bin/python -m benchmarks.broadcast --limited 10000 --unlimited 10000 --postgres
    .venv/bin/python -m benchmarks.broadcast --channel whatsapp       # see benchmarks/whatsapp_broadcast.py

(a) Telegram's limits on (30 messages/s overall, 1/s per chat): messages per second as a share of the 30/s cap
    and the 429 answers received. At 30/s, 10,000 messages take over 5.5 minutes, so (a) sends 3,000 by default
    and says so; pass --limited 10000 for the full run.
(b) Limits lifted: the sender's own ceiling (database claims and records included), against a baseline measured
    in the same run: bare sendMessage calls (aiogram's ``bot.send_message``) to the same emulator with the same
    concurrency and no database. By default the emulator runs in a process of its own, as Telegram is elsewhere
    in reality (sender and baseline measured the same way); --same-process keeps it in the sender's process, where
    it takes CPU from the sender.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Jamaat
from bot.emulator import Emulator, Limits
from jobs.sender import LANES, SendReport, batch_size, send_pending
from services import outbox
from storage.db import Database
from storage.delivery import Broadcast
from storage.models import Person, utcnow
from tests.harness import harness_settings

CAP = 30.0
DEFAULT_BATCH = 100
FIRST_ID = 1_000_000


async def subscribers(db: Database, emu: Emulator | None, count: int, first: int) -> list[tuple[int, int]]:
    async with db.session() as session:
        for start in range(0, count, 1000):
            session.add_all(Person(telegram_id=first + i, language=("ky", "ru", "en")[i % 3], registered_at=utcnow())
                            for i in range(start, min(count, start + 1000)))
    async with db.session() as session:
        from sqlalchemy import select

        rows = (await session.execute(select(Person.id, Person.telegram_id).where(
            Person.telegram_id >= first, Person.telegram_id < first + count).order_by(Person.id))).all()
    if emu is not None:  # a remote emulator has them already
        for _, telegram_id in rows:
            emu.user(telegram_id, "Subscriber")
    return [(person_id, telegram_id) for person_id, telegram_id in rows]


async def queue(db: Database, recipients: list[tuple[int, int]], label: str) -> int:
    async with db.session() as session:
        broadcast_id = await outbox.create_broadcast(session, kind="benchmark", subject=label, created_by=None,
                                                     title=label)
        for person_id, telegram_id in recipients:
            await outbox.enqueue(session, chat_id=telegram_id, person_id=person_id, broadcast_id=broadcast_id,
                                 dedupe_key=f"{label}:{person_id}",
                                 text=f"📣 <b>Public hearing</b>: draft local budget. Notice for {telegram_id}.")
    return broadcast_id


async def drain(app: Jamaat, broadcast_id: int) -> tuple[float, SendReport]:
    """Send until the broadcast is done, as the background job does; returns the seconds taken."""
    total = SendReport()
    started = time.perf_counter()
    while True:
        report = await send_pending(app, limit=batch_size(app.settings))  # as the background job claims
        for name in ("sent", "rate_limited", "retried", "failed", "unreachable"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.paused_until is not None:
            await asyncio.sleep(max(0.01, (report.paused_until - utcnow()).total_seconds()))
            continue
        if report.claimed == 0:
            async with app.db.session() as session:
                broadcast = await session.get(Broadcast, broadcast_id)
                progress = await outbox.broadcast_progress(session, broadcast_id)
            if progress.done and broadcast is not None:
                return time.perf_counter() - started, total
            await asyncio.sleep(0.05)


async def raw_baseline(app: Jamaat, chat_ids: list[int], concurrency: int) -> tuple[float, float]:
    """Bare sendMessage calls, no database: what the emulator and aiogram allow on this machine (messages a second,
    and this process's CPU seconds a message)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(chat_id: int) -> None:
        async with slots:
            await app.bot.send_message(chat_id, "baseline")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(c) for c in chat_ids))
    return len(chat_ids) / (time.perf_counter() - started), (time.process_time() - cpu) / len(chat_ids)


@dataclass
class RemoteEmulator:
    """The Bot API emulator in a process of its own, with users ``first .. first + count - 1``."""

    token: str
    base_url: str


def _serve(first: int, count: int, pipe: Any) -> None:
    async def serve() -> None:
        async with Emulator(limits=None) as emu:
            for telegram_id in range(first, first + count):
                emu.ensure_user(telegram_id, "Subscriber")
            pipe.send((emu.token, emu.base_url))
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop

    asyncio.run(serve())


@asynccontextmanager
async def remote_emulator(first: int, count: int) -> AsyncIterator[RemoteEmulator]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(first, count, child), daemon=True)
    process.start()
    try:
        token, base_url = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        yield RemoteEmulator(token, base_url)
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


async def run(database_url: str | None, schema: str | None, limited: int, unlimited: int, rate: float,
              concurrency: int, tmp: Path, unlimited_concurrency: int = 100, same_process: bool = False) -> None:
    url = database_url or f"sqlite+aiosqlite:///{tmp / 'benchmark.db'}"
    db = Database(url, schema=schema)
    await db.upgrade()
    print(f"database: {db.dialect}; concurrency {concurrency} with limits, {unlimited_concurrency} without (in "
          f"{LANES} lane(s)); a drain claims the larger of the batch setting ({DEFAULT_BATCH}) and 4 windows")
    try:
        if limited:
            async with Emulator(limits=Limits()) as emu:
                settings: dict[str, Any] = {"outbox_per_second": rate, "outbox_concurrency": concurrency}
                app = Jamaat.create(harness_settings(emu, db, **settings), db=db)
                try:
                    people = await subscribers(db, emu, limited, FIRST_ID)
                    broadcast_id = await queue(db, people, "limited")
                    note = "" if limited >= 10_000 else (f" (scaled down from 10,000: at {CAP:g}/s that would take "
                                                         f"{10_000 / CAP / 60:.1f} min; pass --limited 10000)")
                    print(f"(a) limits on: {limited:,} subscribers{note}; sender rate setting {rate:g}/s")
                    seconds, report = await drain(app, broadcast_id)
                    per_second = report.sent / seconds
                    print(f"    sent {report.sent:,} in {seconds:.1f} s = {per_second:.1f} msg/s = "
                          f"{per_second / CAP:.1%} of the {CAP:g}/s cap (target >= 97%); 429 answers: "
                          f"{emu.stats.rate_limited} (target 0; sender saw {report.rate_limited}); "
                          f"failed {report.failed}")
                finally:
                    await app.close()
        if unlimited:
            first = FIRST_ID + 5_000_000
            async with AsyncExitStack() as stack:
                if same_process:
                    emu: Any = await stack.enter_async_context(Emulator(limits=None))
                    where = "in the sender's process"
                else:
                    emu = await stack.enter_async_context(remote_emulator(first, unlimited))
                    where = "in a process of its own"
                settings = {"outbox_per_second": 1_000_000.0, "outbox_chat_interval": 0.0,
                            "outbox_concurrency": unlimited_concurrency}
                app = Jamaat.create(harness_settings(emu, db, **settings), db=db)
                try:
                    people = await subscribers(db, emu if same_process else None, unlimited, first)
                    baseline_chats = [t for _, t in people[: min(2000, len(people))]]
                    baseline, baseline_cpu = await raw_baseline(app, baseline_chats, unlimited_concurrency)
                    started = time.perf_counter()
                    broadcast_id = await queue(db, people, "unlimited")
                    queued = time.perf_counter() - started
                    cpu = time.process_time()
                    seconds, report = await drain(app, broadcast_id)
                    cpu = (time.process_time() - cpu) / max(1, report.sent)
                    per_second = report.sent / seconds
                    print(f"(b) limits lifted, the emulator {where}: {unlimited:,} subscribers queued in "
                          f"{queued:.1f} s ({unlimited / queued:,.0f}/s)")
                    print(f"    sent {report.sent:,} in {seconds:.1f} s = {per_second:,.0f} msg/s "
                          f"(target >= 1,000 msg/s on PostgreSQL); bare sendMessage baseline {baseline:,.0f} msg/s; "
                          f"sender/baseline = {per_second / baseline:.2f}; {per_second / CAP:.0f}x the {CAP:g}/s cap")
                    if not same_process:  # this process's CPU only (the emulator has its own): load-independent
                        print(f"    CPU of the sender's process: {cpu * 1000:.2f} ms a message = {1 / cpu:,.0f} msg/s "
                              f"per free core; bare sendMessage {baseline_cpu * 1000:.2f} ms = "
                              f"{1 / baseline_cpu:,.0f} msg/s per core")
                finally:
                    await app.close()
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limited", type=int, default=3000, help="subscribers for (a), limits on (0: skip)")
    parser.add_argument("--unlimited", type=int, default=10_000, help="subscribers for (b), limits off (0: skip)")
    parser.add_argument("--rate", type=float, default=None, help="sender rate for (a) (default: the setting)")
    parser.add_argument("--concurrency", type=int, default=None, help="calls in flight (default: the setting)")
    parser.add_argument("--unlimited-concurrency", type=int, default=100,
                        help="calls in flight for (b), as with allow_paid_broadcast (default 100)")
    parser.add_argument("--postgres", action="store_true", help="use the test PostgreSQL server, in a new schema")
    parser.add_argument("--same-process", action="store_true",
                        help="(b): run the emulator in the sender's process (default: a process of its own)")
    parser.add_argument("--channel", choices=("telegram", "whatsapp", "mixed"), default="telegram",
                        help="whatsapp: villagers on WhatsApp; mixed: as many on Telegram as on WhatsApp")
    parser.add_argument("--count", type=int, default=10_000, help="villagers per channel for --channel")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from bot.settings import Settings

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    rate = args.rate or defaults.outbox_per_second
    concurrency = args.concurrency or defaults.outbox_concurrency
    with tempfile.TemporaryDirectory(prefix="jamaat-bench-") as tmp:
        if args.channel != "telegram":
            asyncio.run(_channels(args, concurrency, Path(tmp)))
        elif args.postgres:
            asyncio.run(_with_postgres(args, rate, concurrency, Path(tmp)))
        else:
            asyncio.run(run(None, None, args.limited, args.unlimited, rate, concurrency, Path(tmp),
                            args.unlimited_concurrency, args.same_process))


async def _channels(args: argparse.Namespace, concurrency: int, tmp: Path) -> None:
    from benchmarks.whatsapp_broadcast import run as run_channels

    if args.postgres:
        from tests.backends import POSTGRES_URL, postgres_schema

        async with postgres_schema() as schema:
            db = Database(POSTGRES_URL, schema=schema)
            await db.upgrade()
            try:
                await run_channels(db, args.channel, args.count, concurrency, tmp)
            finally:
                await db.dispose()
        return
    db = Database(f"sqlite+aiosqlite:///{tmp / 'benchmark.db'}")
    await db.upgrade()
    print(f"database: {db.dialect}; concurrency {concurrency}")
    try:
        await run_channels(db, args.channel, args.count, concurrency, tmp)
    finally:
        await db.dispose()


async def _with_postgres(args: argparse.Namespace, rate: float, concurrency: int, tmp: Path) -> None:
    from tests.backends import POSTGRES_URL, postgres_schema

    async with postgres_schema() as schema:
        await run(POSTGRES_URL, schema, args.limited, args.unlimited, rate, concurrency, tmp,
                  args.unlimited_concurrency, args.same_process)


if __name__ == "__main__":
    main()
