"""Per-update cost: N simulated villagers register (6 updates each) and vote (5 updates each) against the Bot API
emulator, next to a bare aiogram echo bot driven the same way in the same run.

Each bot runs in a process of its own (``benchmarks/bot_process.py``: Jamaat started as ``jamaat run`` starts it),
polling the emulator that this process hosts with the simulated people: the emulator is Telegram's stand-in, and
its work (Jamaat's answers are edits with keyboards and HTML, dearer for it than the echo bot's texts) is not the
bot's. Each simulated person waits for their own update to be handled (not for the whole emulator to go quiet, and
not woken by every other person's change), so both bots are measured the same way. Prints updates per second for
Jamaat and the echo bot, their ratio (target ≥ 0.4, i.e. at most 2.5× the echo bot's cost per update), the CPU
milliseconds of the bot's process per update for both and their ratio (less skewed by a loaded machine), and the
SQL statements and commits per update (counted by wrappers on the database dialect in the bot's process:
``bot_process.Counts``), on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.registration [--villagers 200] [--backends sqlite,postgres] [--runs 3]
                                                [--profile folder] [--bots jamaat,echo] [--quiet-jobs]
                                                [--floor] [--latency MS]

``--floor`` adds rows for the floor: the echo bot with, per update, the statements of Jamaat's common path as one
transaction through the database's own driver (``bot_process.FloorTransaction``: no ORM, no SQLAlchemy, no
logic). Its ratio to the echo bot is what the database alone leaves of the target.

``--latency MS`` makes the emulator answer every call that many milliseconds late, as Telegram does across a
network: with a latency much larger than the bot's CPU time, an update's wall time divided by it is the number of
round trips to Telegram that the person waits for (printed under each row). Use fewer villagers with it.

--profile writes a cProfile of each step of each bot (its process's main thread) as FOLDER/<step>.prof.

CPU time on a shared or virtual machine swings by a third from run to run (the echo bot's own figure too), more
than most changes move it. Instructions do not: with the bot's process under valgrind (JAMAAT_BENCH_BOT_WRAPPER),
one bot at a time with its periodic jobs off, at two sizes, the difference is the instructions of the extra updates
(start-up and imports cancel out):

    PYTHONHASHSEED=0 JAMAAT_BENCH_BOT_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=/dev/null" \
        .venv/bin/python -m benchmarks.registration --backends sqlite --bots jamaat --quiet-jobs --runs 1 \
        --villagers 10     # then --villagers 60; valgrind prints "Collected : N" when the bot's process ends
    (Collected at 60 - Collected at 10) / (50 x 11 updates) = instructions per update; the same with --bots echo

The same code measured twice this way without a fixed hash seed and with 40 instead of 60 people differed by
~1.5 % (11.29 and 11.44 M an update): compare changes smaller than that with several pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator, TestUser  # noqa: E402
from bot.emulator.server import Delivery  # noqa: E402
from services import voting  # noqa: E402
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Person, Village, utcnow  # noqa: E402
from tests.backends import database  # noqa: E402
from tests.harness import STARTUP  # noqa: E402

TARGET = 0.4
WRAPPER = "JAMAAT_BENCH_BOT_WRAPPER"  # a command the bot's process runs under (valgrind: the docstring)
REGISTRATION_STEPS = 6  # /start, language, contact, aiyl aimak, village, consent
VOTE_STEPS = 5  # /vote, two toggles, summary, confirm
FLOOR_ROWS = {"registration": "floor reg.", "vote": "floor vote"}  # --floor's rows


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
class Figures:
    rate: float  # updates per second of wall time
    cpu_ms: float  # CPU milliseconds of the bot's process per update (all its threads: bot, SQLite's driver)
    statements: float = 0.0  # SQL statements per update (Jamaat)
    commits: float = 0.0


class BotProcess:
    """A bot in a process of its own (``benchmarks/bot_process.py``) polling this process's emulator, so its CPU
    time is the bot's alone: the emulator (Telegram's stand-in) and the simulated people stay here."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, emu: Emulator, bot: str, *options: str) -> BotProcess:
        wrapper = shlex.split(os.environ.get(WRAPPER, ""))
        process = await asyncio.create_subprocess_exec(
            *wrapper, sys.executable, "-m", "benchmarks.bot_process", bot, "--api", emu.base_url,
            "--token", emu.token, *options, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
        started = cls(process)
        try:
            await emu.wait_for(lambda: emu.polling or process.returncode is not None,
                               timeout=STARTUP * (20 if wrapper else 1))
        except BaseException:
            await started.stop()
            raise
        if process.returncode is not None:
            raise RuntimeError(f"the {bot} bot's process ended with {process.returncode} before polling")
        return started

    async def _ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), STARTUP * 20)
        if not line:
            raise RuntimeError(f"the bot's process ended ({await self.process.wait()}) instead of answering {command}")
        return json.loads(line)

    async def mark(self, label: str = "") -> dict[str, Any]:
        """The process's CPU seconds, statements and commits so far; with --profile, the part that ended here is
        written as LABEL.prof."""
        return await self._ask(f"mark {label}".strip())

    async def stop(self) -> None:
        if self.process.returncode is None:
            try:
                await self._ask("stop")
            except (TimeoutError, RuntimeError, OSError):
                self.process.kill()
        await self.process.wait()


@contextmanager
def emulator_heap_frozen() -> Iterator[None]:
    """This process (the emulator and the simulated people: Telegram's and the phones' stand-ins) without full
    garbage collections of its whole heap while a step is timed. Seen: 5-7 a run, 0.1-0.25 s each, every answer
    to the bot stopped meanwhile, in whichever bot's step they fell (noise that Telegram's servers do not add).
    What the step itself makes is still collected."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def timed(bot: BotProcess, label: str, users: list[TestUser],
                conversation: Callable[[TestUser], Awaitable[None]], steps: int) -> Figures:
    """Updates per second of wall time, and the bot process's CPU, statements and commits per update. The CPU
    figure depends less than the wall rate on what else the machine runs."""
    updates = len(users) * steps
    with emulator_heap_frozen():
        before = await bot.mark()
        started = time.perf_counter()
        await asyncio.gather(*(conversation(u) for u in users))
        elapsed = time.perf_counter() - started
    after = await bot.mark(label)
    return Figures(updates / elapsed, (after["cpu"] - before["cpu"]) * 1000 / updates,
                   (after["statements"] - before["statements"]) / updates,
                   (after["commits"] - before["commits"]) / updates)


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


def bot_options(db: Database | None, quiet_jobs: bool, profile: Path | None) -> list[str]:
    options = []
    if db is not None:
        options += ["--database", db.url, *(["--schema", db.schema] if db.schema else [])]
    if quiet_jobs:
        options.append("--quiet-jobs")  # no periodic claims among the updates counted
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        options += ["--profile", str(profile.resolve())]
    return options


async def jamaat_run(backend: str, count: int, profile: Path | None = None,
                     quiet_jobs: bool = False, latency: float = 0.0) -> tuple[Figures, Figures]:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db:
            async with db.session() as session:
                await import_places(session, SAMPLE_PLACES)
            await voters(db, count, 500000)
            async with OwnWaitEmulator(timeout=30) as emu:
                emu.latency = latency
                bot = await BotProcess.start(emu, "jamaat", *bot_options(db, quiet_jobs, profile))
                try:
                    await emu.settle(timeout=60)  # the round's notices go out first
                    registration = await timed(bot, f"{backend}-registration", people(emu, count), register,
                                               REGISTRATION_STEPS)
                    await emu.settle(timeout=60)
                    users = [emu.user(500000 + i, f"V{i}") for i in range(count)]
                    return registration, await timed(bot, f"{backend}-vote", users, vote, VOTE_STEPS)
                finally:
                    await bot.stop()


async def echo_run(count: int, profile: Path | None = None, db: Database | None = None,
                   latency: float = 0.0) -> tuple[Figures, Figures]:
    """The echo bot through both steps, one process as for Jamaat (the vote step by other people); given a
    database, the floor (the echo bot with a raw transaction per update, ``bot_process.FloorTransaction``)."""
    name = "echo" if db is None else "floor"
    async with OwnWaitEmulator(timeout=30) as emu:
        emu.latency = latency
        bot = await BotProcess.start(emu, name, *bot_options(db, False, profile))
        try:
            figures = []
            for step, steps, first in (("registration", REGISTRATION_STEPS, 100000), ("vote", VOTE_STEPS, 200000)):
                figures.append(await timed(bot, f"{name}-{step}", people(emu, count, first),
                                           lambda user, steps=steps: echo_conversation(user, steps), steps))
            return figures[0], figures[1]
        finally:
            await bot.stop()


async def floor_run(backend: str, count: int) -> tuple[Figures, Figures]:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder), upgrade=False) as db:  # the floor makes its own tables only
            return await echo_run(count, db=db)


async def one_bot(bots: set[str], backend: str, count: int, quiet_jobs: bool) -> None:
    if bots == {"echo"}:
        for step, figures in zip(("registration", "vote"), await echo_run(count), strict=True):
            print(f"echo      {step:13} {figures.rate:10.1f} upd/s {figures.cpu_ms:8.2f} CPU ms", flush=True)
        return
    if bots != {"jamaat"}:
        raise SystemExit(f"--bots: jamaat, echo or both, not {','.join(sorted(bots))}")
    for step, figures in zip(("registration", "vote"), await jamaat_run(backend, count, quiet_jobs=quiet_jobs),
                              strict=True):
        print(f"{backend:9} {step:13} {figures.rate:10.1f} upd/s {figures.cpu_ms:8.2f} CPU ms "
              f"{figures.statements:5.1f} stmts/upd {figures.commits:5.2f} commits/upd", flush=True)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of each bot's steps into this folder")
    parser.add_argument("--bots", default="jamaat,echo", help="which to run (one alone: for instruction counts)")
    parser.add_argument("--quiet-jobs", action="store_true", help="Jamaat's periodic jobs off (instruction counts)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="the emulator answers each call this many milliseconds late (a network to Telegram): "
                             "how many round trips an update's answer waits for, not a figure for the target")
    parser.add_argument("--floor", action="store_true",
                        help="also the echo bot with a raw transaction shaped like Jamaat's per update (its ratio "
                             "to the echo bot: what the database alone leaves of the target)")
    args = parser.parse_args()
    bots = set(args.bots.split(","))
    latency = args.latency / 1000
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
    backends = args.backends.split(",")
    for _ in range(args.runs):
        for backend in backends[:1] if bots == {"echo"} else backends:  # the echo bot has no database
            if bots != {"jamaat", "echo"}:  # one bot alone: its own figures, no ratio
                await one_bot(bots, backend, args.villagers, args.quiet_jobs)
                continue
            echo_reg, echo_vote = await echo_run(args.villagers, args.profile, latency=latency)
            registration, ballot = await jamaat_run(backend, args.villagers, args.profile, args.quiet_jobs, latency)
            for step, jamaat, echo in (("registration", registration, echo_reg), ("vote", ballot, echo_vote)):
                ratio, cpu_ratio = jamaat.rate / echo.rate, echo.cpu_ms / jamaat.cpu_ms
                ratios.setdefault((backend, step, "upd/s"), []).append(ratio)
                ratios.setdefault((backend, step, "CPU"), []).append(cpu_ratio)
                print(f"{backend:9} {step:13} {jamaat.rate:12.1f} {echo.rate:10.1f} {ratio:6.2f} "
                      f"{jamaat.cpu_ms:13.2f} {echo.cpu_ms:11.2f} {cpu_ratio:9.2f} {'>= 0.4':>7} "
                      f"{jamaat.statements:9.1f} {jamaat.commits:11.2f}", flush=True)
                if latency:
                    print(f"  with a {args.latency:g} ms round trip: {1000 / jamaat.rate:.1f} ms an update for Jamaat "
                          f"(~{1 / jamaat.rate / latency:.2f} round trips), {1000 / echo.rate:.1f} ms for the echo bot "
                          f"(~{1 / echo.rate / latency:.2f})", flush=True)
            if args.floor:
                for step, floor, echo in zip(("registration", "vote"), await floor_run(backend, args.villagers),
                                             (echo_reg, echo_vote), strict=True):
                    ratios.setdefault((backend, FLOOR_ROWS[step], "upd/s"), []).append(floor.rate / echo.rate)
                    ratios.setdefault((backend, FLOOR_ROWS[step], "CPU"), []).append(echo.cpu_ms / floor.cpu_ms)
                    print(f"{backend:9} {FLOOR_ROWS[step]:13} {floor.rate:12.1f} {echo.rate:10.1f} "
                          f"{floor.rate / echo.rate:6.2f} {floor.cpu_ms:13.2f} {echo.cpu_ms:11.2f} "
                          f"{echo.cpu_ms / floor.cpu_ms:9.2f} {'-':>7} {'4':>9} {'1':>11}", flush=True)
    if bots != {"jamaat", "echo"}:
        return
    print("CPU ratio = the echo bot's CPU per update / Jamaat's (each bot's own process, the emulator not counted; it "
          "still swings from run to run: the docstring shows how to count instructions instead)")
    if args.floor:
        print("floor = the echo bot with one transaction per update through the database's own driver (the claim, "
              "a person with roles and state, a round, the state's upsert; 4 statements and 1 commit by "
              "construction): in its rows ('floor reg.', 'floor vote') the Jamaat columns are the floor's")
    if args.runs > 1:
        print("ratio min/median/max over runs:")
        for (backend, step, kind), values in ratios.items():
            target = "" if step in FLOOR_ROWS.values() else f"  (target >= {TARGET})"
            print(f"  {backend:9} {step:13} {kind:6} {spread(values)}{target}")

if __name__ == "__main__":
    asyncio.run(main())
