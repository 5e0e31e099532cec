"""Memory of a running bot: ``jamaat run`` next to a bare aiogram echo bot process, both polling the Bot API
emulator, measured in the same run from /proc/<pid>/status (VmRSS now, VmHWM = the peak).

1. Idle: each process started against the emulator and left polling for a few seconds. Target: Jamaat's VmHWM
   within +40 MB of the echo bot's.
2. Load: with N registered people (100,000 by default) and a notice to all of them queued (set-based, from this
   process, as ``services.outbox.enqueue_to_people`` does), Jamaat drains the outbox with the emulator's limits
   lifted for a while; its VmHWM then. Target: within +60 MB of its own idle figure.

SQLite (the process's memory hardly depends on the back end).

    .venv/bin/python -m benchmarks.memory [--people 100000] [--drain-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks.population import register
from benchmarks.result import result
from bot.emulator import Emulator
from services import outbox
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database
from storage.models import Person, Village
from tests.harness import PHONE_HASH_KEY

ROOT = Path(__file__).resolve().parent.parent
IDLE_TARGET_MB = 40
LOAD_TARGET_MB = 60
ECHO_BOT = """
import asyncio, sys
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

async def main() -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    bot = Bot(sys.argv[1], session=AiohttpSession(api=TelegramAPIServer.from_base(sys.argv[2])))
    await dispatcher.start_polling(bot, polling_timeout=10, handle_signals=True)

asyncio.run(main())
"""


def status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


async def started(emu: Emulator, *command: str, env: dict[str, str] | None = None,
                  settle: float = 3.0) -> asyncio.subprocess.Process:
    emu._poller = None
    process = await asyncio.create_subprocess_exec(*command, env={**os.environ, **(env or {})}, cwd=ROOT,
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not emu.polling:
        if process.returncode is not None or time.monotonic() > deadline:
            error = (await process.stderr.read()).decode()[-2000:] if process.stderr else ""
            raise RuntimeError(f"{command[0]} did not start polling: {error}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)
    return process


async def stopped(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def people(db: Database, count: int) -> None:
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        villages = list((await session.scalars(select(Village.id))).all())
    await register(db, villages, count, first=10_000_000, hash_prefix="h")


async def run(count: int, drain_seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="jamaat-memory-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'jamaat.db'}"
        db = Database(url)
        await db.upgrade()
        async with Emulator(limits=None) as emu:
            echo = await started(emu, sys.executable, "-c", ECHO_BOT, emu.token, emu.base_url)
            echo_idle = status(echo.pid)
            await stopped(echo)
            env = {"JAMAAT_BOT_TOKEN": emu.token, "JAMAAT_API_BASE_URL": emu.base_url, "JAMAAT_DATABASE_URL": url,
                   "JAMAAT_PHONE_HASH_KEY": PHONE_HASH_KEY, "JAMAAT_OUTBOX_PER_SECOND": "1000",
                   "JAMAAT_OUTBOX_CHAT_INTERVAL": "0", "JAMAAT_OUTBOX_CONCURRENCY": "50",
                   "JAMAAT_DASHBOARD_PORT": "0"}  # the bot alone (and no fixed port on a shared machine)
            jamaat = await started(emu, sys.executable, "-m", "bot.cli", "run", env=env)
            try:
                jamaat_idle = status(jamaat.pid)
                print(f"idle VmHWM: echo bot {echo_idle['VmHWM']:.0f} MB, jamaat run {jamaat_idle['VmHWM']:.0f} MB: "
                      f"+{jamaat_idle['VmHWM'] - echo_idle['VmHWM']:.0f} MB (target <= +{IDLE_TARGET_MB} MB)")
                print(f"idle VmRSS: echo bot {echo_idle['VmRSS']:.0f} MB, jamaat run {jamaat_idle['VmRSS']:.0f} MB")
                started_at = time.perf_counter()
                await people(db, count)
                for i in range(count):
                    emu.ensure_user(10_000_000 + i, f"P{i}")
                async with db.session() as session:
                    broadcast_id = await outbox.create_broadcast(session, kind="benchmark", subject="memory",
                                                                 created_by=None, title="Memory", ready=False)
                queued = await outbox.enqueue_to_people(
                    db, broadcast_id=broadcast_id, dedupe_prefix="memory:person:",
                    people=Person.telegram_id.is_not(None),
                    render=lambda language, village: outbox.Notice(
                        text=f"<b>Public hearing</b> on the budget ({language}, village {village})"))
                print(f"{count:,} people registered and {queued:,} notices queued in "
                      f"{time.perf_counter() - started_at:.1f} s (from the benchmark process)")
                peak = jamaat_idle["VmHWM"]
                end = time.monotonic() + drain_seconds
                while time.monotonic() < end:
                    await asyncio.sleep(0.5)
                    peak = max(peak, status(jamaat.pid)["VmHWM"])
                sent = sum(len(chat.messages) for chat in emu.chats.values())
                print(f"while draining for {drain_seconds:g} s ({sent:,} sent): jamaat run VmHWM {peak:.0f} MB: "
                      f"+{peak - jamaat_idle['VmHWM']:.0f} MB over its idle (target <= +{LOAD_TARGET_MB} MB)")
                result("memory", "sqlite", idle_over_echo_mb=jamaat_idle["VmHWM"] - echo_idle["VmHWM"],
                       load_over_idle_mb=peak - jamaat_idle["VmHWM"], echo_mb=echo_idle["VmHWM"],
                       idle_mb=jamaat_idle["VmHWM"], peak_mb=peak, people=count)
            finally:
                await stopped(jamaat)
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--drain-seconds", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(run(args.people, args.drain_seconds))


if __name__ == "__main__":
    main()
