"""Per-update cost: N simulated villagers register (6 updates each) and vote (5 updates each) against the Bot API
emulator, next to a bare aiogram echo bot driven the same way in the same run.

Each simulated person waits for their own update to be handled (not for the whole emulator to go quiet, and not
woken by every other person's change), so both bots are measured the same way. Prints updates per second for
Jamaat and the echo bot, their ratio (target ≥ 0.4, i.e. at most 2.5× the echo bot's cost per update), the CPU
milliseconds of this process per update for both and their ratio (less skewed by a loaded machine), and the
SQL statements and commits per update (counted with SQLAlchemy event listeners), on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.registration [--villagers 200] [--backends sqlite,postgres] [--runs 3]
                                                [--profile folder] [--bots jamaat,echo] [--quiet-jobs]

CPU time on a shared or virtual machine swings by a third from run to run (the echo bot's own figure too), more
than most changes move it. Instructions do not: under valgrind, one bot at a time with its periodic jobs off,
at two sizes, the difference is the instructions of the extra updates (startup and imports cancel out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m benchmarks.registration \
        --backends sqlite --bots jamaat --quiet-jobs --runs 1 --villagers 10     # then --villagers 40
    (Collected at 40 - Collected at 10) / (30 x 11 updates) = instructions per update; the same with --bots echo
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import settle_heap  # noqa: E402
from bot.emulator import Emulator, TestUser  # noqa: E402
from bot.emulator.server import Delivery  # noqa: E402
from services import voting  # noqa: E402
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Person, Village, utcnow  # noqa: E402
from tests.backends import database  # noqa: E402
from tests.harness import Harness, harness_settings  # noqa: E402

TARGET = 0.4
REGISTRATION_STEPS = 6  # /start, language, contact, aiyl aimak, village, consent
VOTE_STEPS = 5  # /vote, two toggles, summary, confirm


class OwnWaitEmulator(Emulator):
    """Each simulated person waits only on their own update, so a crowd does not wake on every change."""

    async def deliver(self, delivery: Delivery, wait: bool = True, duplicate: bool = False) -> dict[str, Any]:
        assert not duplicate
        if wait:
            await asyncio.wait_for(delivery.done.wait(), self.timeout * 6)
        return delivery.update


async def register(user: TestUser) -> None:
    await user.send("/start")
    await user.tap("English")
    await user.share_contact()
    await user.tap("Көк-Ирим")
    await user.tap("Арал")
    await user.tap("Skip")
    assert "registered" in (user.last.text or ""), user.dump()


async def vote(user: TestUser) -> None:
    await user.send("/vote")
    await user.tap(index=0)
    await user.tap(index=1)
    await user.tap(contains="Next")
    await user.tap(contains="Confirm")
    assert "Receipt code" in (user.last.text or ""), user.dump()


async def echo_conversation(user: TestUser, steps: int) -> None:
    """The same number and kinds of updates (one message, then buttons), answered by a bot with no logic."""
    await user.send("/start")
    for _ in range(steps - 2):
        await user.tap("again")
    await user.share_contact()


def people(emu: Emulator, count: int, first: int = 100000) -> list[TestUser]:
    return [emu.user(first + i, f"V{i}", language_code="en", phone=f"+99677{i:07d}") for i in range(count)]


@dataclass
class Timing:
    rate: float  # updates per second of wall time
    cpu_ms: float  # CPU milliseconds of this process per update (all its threads: emulator, bot, SQLite driver)


async def timed(users: list[TestUser], conversation: Callable[[TestUser], Awaitable[None]], steps: int) -> Timing:
    """Wall rate and CPU per update. The CPU figure depends less than the wall rate on what else the machine runs:
    this process hosts the emulator and the bot for both Jamaat and the echo bot (PostgreSQL's server process is not
    counted)."""
    updates = len(users) * steps
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(conversation(u) for u in users))
    return Timing(updates / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / updates)


@dataclass
class Counter:
    statements: int = 0
    commits: int = 0

    def attach(self, db: Database) -> None:
        def statement(*_: Any) -> None:
            self.statements += 1

        def commit(*_: Any) -> None:
            self.commits += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", statement)
        event.listen(db.engine.sync_engine, "commit", commit)

    def reset(self) -> None:
        self.statements = self.commits = 0


@dataclass
class Figures:
    timing: Timing
    statements: float
    commits: float


QUIET_JOBS = {"jobs_interval_seconds": 3600.0}  # --quiet-jobs: no periodic claims among the updates counted


async def start(db: Database, **settings: Any) -> Harness:
    emu = OwnWaitEmulator(timeout=30)
    await emu.start()
    harness = Harness(emu=emu, db=db, settings=harness_settings(emu, db, **settings))
    await harness.start()
    settle_heap()  # as ``jamaat run`` does once it has started (bot.app.settle_heap)
    return harness


async def stop(harness: Harness) -> None:
    await harness.stop()
    await harness.emu.stop()


async def voters(db: Database, count: int, first: int) -> None:
    """``count`` registered villagers of Арал and a round with nine problems, voting open."""
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        village = await session.scalar(select(Village).where(Village.code == "aral"))
        session.add_all(Person(telegram_id=first + i, first_name=f"V{i}", language="en", phone_hash=f"h{first + i}",
                               phone_tail="00", aiyl_aimak_id=aimak.id, village_id=village.id, sex="fm"[i % 2],
                               age_band="18-35", consent_at=utcnow(), registered_at=utcnow()) for i in range(count))
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Needs 2026", created_by=1,
                                        vote_ends_at=utcnow() + timedelta(days=7), reminder_hours=())
        await voting.open_collection(session, rnd, by=1)
        for n in range(9):
            await voting.add_problem(session, rnd, title_ky=f"Маселе {n}", title_ru=f"Проблема {n}", by=1)
        await voting.publish_ballot(session, rnd, by=1)


async def profiled(folder: Path | None, name: str, work: Awaitable[Timing]) -> Timing:
    """``work``, under cProfile when a folder is given (the timing is then inflated by the profiler). The
    profile's clock is this thread's CPU time, so waiting (for the emulator, for SQLite's worker thread, for
    other processes on a loaded machine) is not counted as a function's cost."""
    if folder is None:
        return await work
    folder.mkdir(parents=True, exist_ok=True)
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        return await work
    finally:
        profile.disable()
        profile.dump_stats(folder / f"{name}.prof")


async def jamaat_run(backend: str, count: int, profile: Path | None = None,
                     **settings: Any) -> tuple[Figures, Figures]:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db:
            async with db.session() as session:
                await import_places(session, SAMPLE_PLACES)
            await voters(db, count, 500000)
            counter = Counter()
            counter.attach(db)
            harness = await start(db, **settings)
            try:
                await harness.emu.settle(timeout=60)  # the round's notices go out first
                updates = count * REGISTRATION_STEPS
                counter.reset()
                timing = await profiled(profile, f"{backend}-registration",
                                        timed(people(harness.emu, count), register, REGISTRATION_STEPS))
                registration = Figures(timing, counter.statements / updates, counter.commits / updates)
                await harness.emu.settle(timeout=60)
                users = [harness.emu.user(500000 + i, f"V{i}") for i in range(count)]
                updates = count * VOTE_STEPS
                counter.reset()
                timing = await profiled(profile, f"{backend}-vote", timed(users, vote, VOTE_STEPS))
                return registration, Figures(timing, counter.statements / updates, counter.commits / updates)
            finally:
                await stop(harness)


async def echo_rate(count: int, steps: int) -> Timing:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="again", callback_data="again")]])
    dispatcher = Dispatcher()

    @dispatcher.message(F.text | F.contact)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "contact", reply_markup=keyboard)

    @dispatcher.callback_query()
    async def again(query: CallbackQuery) -> None:
        await query.answer()
        await query.message.answer("again", reply_markup=keyboard)

    async with OwnWaitEmulator(timeout=30) as emu:
        bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        task = asyncio.create_task(dispatcher.start_polling(bot, handle_as_tasks=False, polling_timeout=1,
                                                            handle_signals=False))
        await emu.wait_for(lambda: emu.polling)
        try:
            return await timed(people(emu, count), lambda user: echo_conversation(user, steps), steps)
        finally:
            await dispatcher.stop_polling()
            await task
            await bot.session.close()


async def one_bot(bots: set[str], backend: str, count: int, settings: dict[str, Any]) -> None:
    if bots == {"echo"}:
        for step, steps in (("registration", REGISTRATION_STEPS), ("vote", VOTE_STEPS)):
            timing = await echo_rate(count, steps)
            print(f"echo      {step:13} {timing.rate:10.1f} upd/s {timing.cpu_ms:8.2f} CPU ms", flush=True)
        return
    if bots != {"jamaat"}:
        raise SystemExit(f"--bots: jamaat, echo or both, not {','.join(sorted(bots))}")
    for step, figures in zip(("registration", "vote"), await jamaat_run(backend, count, **settings), strict=True):
        print(f"{backend:9} {step:13} {figures.timing.rate:10.1f} upd/s {figures.timing.cpu_ms:8.2f} CPU ms "
              f"{figures.statements:5.1f} stmts/upd {figures.commits:5.2f} commits/upd", flush=True)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of Jamaat's steps into this folder")
    parser.add_argument("--bots", default="jamaat,echo", help="which to run (one alone: for instruction counts)")
    parser.add_argument("--quiet-jobs", action="store_true", help="Jamaat's periodic jobs off (instruction counts)")
    args = parser.parse_args()
    bots = set(args.bots.split(","))
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    logging.getLogger("jamaat").setLevel(logging.ERROR)
    print(f"per update: {args.villagers} villagers x {REGISTRATION_STEPS} registration + {VOTE_STEPS} vote updates, "
          f"polling one update at a time; target ratio >= {TARGET} (<= {1 / TARGET:g}x the echo bot's cost)")
    if bots == {"jamaat", "echo"}:
        print(f"{'back end':9} {'step':13} {'Jamaat upd/s':>12} {'echo upd/s':>10} {'ratio':>6} "
              f"{'Jamaat CPU ms':>13} {'echo CPU ms':>11} {'CPU ratio':>9} {'target':>7} {'stmts/upd':>9} "
              f"{'commits/upd':>11}")
    ratios: dict[tuple[str, str, str], list[float]] = {}
    settings = QUIET_JOBS if args.quiet_jobs else {}
    backends = args.backends.split(",")
    for _ in range(args.runs):
        for backend in backends[:1] if bots == {"echo"} else backends:  # the echo bot has no database
            if bots != {"jamaat", "echo"}:  # one bot alone: its own figures, no ratio
                await one_bot(bots, backend, args.villagers, settings)
                continue
            echo_reg = await echo_rate(args.villagers, REGISTRATION_STEPS)
            echo_vote = await echo_rate(args.villagers, VOTE_STEPS)
            registration, ballot = await jamaat_run(backend, args.villagers, args.profile, **settings)
            for step, figures, echo in (("registration", registration, echo_reg), ("vote", ballot, echo_vote)):
                jamaat = figures.timing
                ratio, cpu_ratio = jamaat.rate / echo.rate, echo.cpu_ms / jamaat.cpu_ms
                ratios.setdefault((backend, step, "upd/s"), []).append(ratio)
                ratios.setdefault((backend, step, "CPU"), []).append(cpu_ratio)
                print(f"{backend:9} {step:13} {jamaat.rate:12.1f} {echo.rate:10.1f} {ratio:6.2f} "
                      f"{jamaat.cpu_ms:13.2f} {echo.cpu_ms:11.2f} {cpu_ratio:9.2f} {'>= 0.4':>7} "
                      f"{figures.statements:9.1f} {figures.commits:11.2f}", flush=True)
    if bots != {"jamaat", "echo"}:
        return
    print("CPU ratio = the echo bot's CPU per update / Jamaat's (both in this process; it still swings from run to "
          "run: the docstring shows how to count instructions instead)")
    if args.runs > 1:
        print("ratio min/median/max over runs:")
        for (backend, step, kind), values in ratios.items():
            print(f"  {backend:9} {step:13} {kind:6} {spread(values)}  (target >= {TARGET})")

if __name__ == "__main__":
    asyncio.run(main())
