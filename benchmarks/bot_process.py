"""One bot in a process of its own, for ``benchmarks/registration.py``: Jamaat, started as ``jamaat run`` starts it,
a bare aiogram echo bot, or the floor (the echo bot with, per update, the least a transaction shaped like Jamaat's
costs: ``FloorTransaction``), polling the parent's Bot API emulator one update at a time.

The emulator stands in for Telegram's servers and the simulated people for their phones; in the bot's process
their CPU would be counted as the bot's (Jamaat's answers are edits with keyboards and HTML, which cost the
emulator more than the echo bot's plain texts). Here this process's CPU time is the bot's alone.

Commands on stdin, one per line; each is answered with one JSON line on stdout:
    mark [LABEL]   {"cpu": CPU seconds of this process so far (all threads), "statements": n, "commits": n};
                   with --profile and a LABEL, the cProfile of the part since the previous mark (this thread's
                   CPU time) is written to FOLDER/LABEL.prof
    stop           polling stopped, the bot closed; {"stopped": true}, then the process exits
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import loop as event_loop  # noqa: E402
from bot.app import Jamaat, settle_heap, stop_polling  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import direct  # noqa: E402
from storage.db import Database  # noqa: E402

PHONE_HASH_KEY = "benchmark-phone-hash-key-0123456789"


class Counts:
    """SQL statements and commits of the bot's database engine, counted where its dialect runs them.

    Not with SQLAlchemy's engine events: a listener for ``before_cursor_execute`` or ``commit`` turns on the
    connection's event dispatch for every statement (~30 µs a statement on PostgreSQL, where Jamaat has no
    connection listener of its own), so the count would slow what it counts. The engine's dialect object gets a
    counting wrapper around each method that runs a statement or a commit instead; statements and commits run
    straight on the driver (``storage.direct``) are counted by observers of their own."""

    def __init__(self, db: Database | None = None) -> None:
        self.statements = self.commits = 0
        if db is not None:
            dialect = db.engine.sync_engine.dialect
            for name in ("do_execute", "do_execute_no_params", "do_executemany"):
                setattr(dialect, name, self._counted(getattr(dialect, name), "statements"))
            dialect.do_commit = self._counted(dialect.do_commit, "commits")
            direct.OBSERVERS.append(self._direct)
            direct.COMMIT_OBSERVERS.append(self._direct_commit)

    def _direct(self, _statement: str) -> None:
        self.statements += 1

    def _direct_commit(self, _connection: Any) -> None:
        self.commits += 1

    def _counted(self, method: Any, counter: str) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            setattr(self, counter, getattr(self, counter) + 1)
            return method(*args, **kwargs)

        return counted


def echo_dispatcher() -> Dispatcher:
    """Answers a message with its text and a button, a button with a callback answer and a new message."""
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="again", callback_data="again")]])
    dispatcher = Dispatcher()

    @dispatcher.message(F.text | F.contact)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "contact", reply_markup=keyboard)

    @dispatcher.callback_query()
    async def again(query: CallbackQuery) -> None:
        await query.answer()
        await query.message.answer("again", reply_markup=keyboard)

    return dispatcher


FLOOR_TABLES = (
    "CREATE TABLE floor_claim (update_id BIGINT PRIMARY KEY, processed_at TEXT NOT NULL)",
    "CREATE TABLE floor_person (id INTEGER PRIMARY KEY, telegram_id BIGINT UNIQUE, first_name TEXT, language TEXT, "
    "phone_hash TEXT, village_id INTEGER, sex TEXT, age_band TEXT, registered_at TEXT)",
    "CREATE TABLE floor_role (telegram_id BIGINT NOT NULL, role TEXT NOT NULL, scope INTEGER)",
    "CREATE TABLE floor_state (key TEXT PRIMARY KEY, state TEXT, data TEXT NOT NULL)",
    "CREATE TABLE floor_round (id INTEGER PRIMARY KEY, title TEXT, phase TEXT, revision INTEGER)",
)
FLOOR_STATEMENTS = (  # Jamaat's common path: the claim, the person with roles and state, a round, the state's upsert
    "INSERT INTO floor_claim VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING update_id",
    "SELECT p.*, r.role, r.scope, s.state, s.data FROM (SELECT 1 AS one) AS o "
    "LEFT JOIN floor_person AS p ON p.telegram_id = ? LEFT JOIN floor_state AS s ON s.key = ? "
    "LEFT JOIN floor_role AS r ON r.telegram_id = ?",
    "SELECT * FROM floor_round WHERE id = ?",
    "INSERT INTO floor_state VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
    "data = excluded.data",
)


def _numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


class FloorTransaction(BaseMiddleware):
    """Per update, the statements of Jamaat's common path as one transaction through the database's driver
    itself (aiosqlite, with Jamaat's one-hop connection, or asyncpg): no ORM, no SQLAlchemy, no logic. Added to
    the echo bot, it shows the least any bot that keeps its people and their conversations in a database spends
    an update, against the same echo bot without it (a lower bound: its tables hold only what the updates write,
    so the person read finds nobody)."""

    def __init__(self, connection: Any, postgres: bool) -> None:
        self.connection, self.postgres = connection, postgres
        self.statements = [_numbered(sql) for sql in FLOOR_STATEMENTS] if postgres else list(FLOOR_STATEMENTS)

    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        chat = user.id if user is not None else 0
        claim, read, round_read, upsert = self.statements
        key = f"fsm:{chat}:{chat}"
        state = (key, "step", json.dumps({"update": event.update_id}))
        if self.postgres:
            async with self.connection.transaction():
                await self.connection.fetchrow(claim, event.update_id, "now")
                await self.connection.fetch(read, chat, key, chat)
                await self.connection.fetchrow(round_read, 1)
                result = await handler(event, data)
                await self.connection.execute(upsert, *state)
            return result
        connection = self.connection
        connection.begin_with_next_statement("BEGIN IMMEDIATE")
        cursor = await connection.cursor()
        try:
            await cursor.execute(claim, (event.update_id, "now"))
            await cursor.execute(read, (chat, key, chat))
            await cursor.execute(round_read, (1,))
            result = await handler(event, data)
            await cursor.execute(upsert, state)
            await connection.commit()
        except BaseException:
            await connection.rollback()
            raise
        return result


async def floor_connection(url: str, schema: str | None) -> tuple[Any, bool]:
    """A connection of the database's own driver, with the floor's tables made afresh."""
    if url.startswith("sqlite"):
        from storage.sqlite_driver import async_creator

        connection = await async_creator(url.split(":///", 1)[1], isolation_level=None, check_same_thread=False)()
        await connection.execute("PRAGMA journal_mode=WAL")
        postgres = False
    else:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"),
                                           server_settings={"search_path": schema} if schema else None)
        postgres = True
    for table in ("floor_claim", "floor_person", "floor_role", "floor_state", "floor_round"):
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
    for sql in FLOOR_TABLES:
        await connection.execute(sql)
    await connection.execute("INSERT INTO floor_round VALUES (1, 'Needs 2026', 'voting', 1)")
    return connection, postgres


async def commands(profile_folder: Path | None, counts: Counts) -> None:
    """Answer ``mark`` until ``stop`` (or the parent goes away)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    profile = None
    while line := (await reader.readline()).decode().split():
        if line[0] == "stop":
            return
        if profile is not None:
            profile.disable()
            if len(line) > 1:
                profile.dump_stats(profile_folder / f"{line[1]}.prof")
        answer(cpu=time.process_time(), statements=counts.statements, commits=counts.commits)
        if profile_folder is not None:
            profile = cProfile.Profile(time.thread_time)
            profile.enable()


def answer(**values: Any) -> None:
    sys.stdout.write(json.dumps(values) + "\n")
    sys.stdout.flush()


async def run_jamaat(args: argparse.Namespace) -> None:
    settings = Settings(bot_token=args.token, api_base_url=args.api, database_url=args.database,
                        phone_hash_key=PHONE_HASH_KEY, admin_ids=[1], _env_file=None,
                        **({"jobs_interval_seconds": 3600.0} if args.quiet_jobs else {}))
    db = Database(args.database, schema=args.schema)
    app = Jamaat.create(settings, db=db)
    await app.prepare()
    task = asyncio.create_task(app.run_polling(handle_as_tasks=False, polling_timeout=1))
    settle_heap()  # as ``jamaat run`` does once it has started
    try:
        await commands(args.profile, Counts(db))
    finally:
        await stop_polling(app, task)
        await app.close()
        await db.dispose()


async def run_echo(args: argparse.Namespace) -> None:
    dispatcher = echo_dispatcher()
    floor = None
    if args.bot == "floor":
        floor, postgres = await floor_connection(args.database, args.schema)
        dispatcher.update.outer_middleware(FloorTransaction(floor, postgres))
    bot = Bot(args.token, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api)))
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_as_tasks=False, polling_timeout=1,
                                                        handle_signals=False))
    try:
        await commands(args.profile, Counts())
    finally:
        await dispatcher.stop_polling()
        await task
        await bot.session.close()
        if floor is not None:
            await floor.close()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bot", choices=("jamaat", "echo", "floor"))
    parser.add_argument("--api", required=True, help="the emulator's base address")
    parser.add_argument("--token", required=True)
    parser.add_argument("--database", help="Jamaat's (or the floor's) database address")
    parser.add_argument("--schema", help="Jamaat's PostgreSQL schema")
    parser.add_argument("--quiet-jobs", action="store_true", help="Jamaat's periodic jobs off")
    parser.add_argument("--profile", type=Path, help="a folder for a cProfile of each part between marks")
    parser.add_argument("--event-loop", choices=event_loop.CHOICES,
                        help="Jamaat's default is its own (uvloop, as jamaat run), the other bots' asyncio's")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    await (run_jamaat if args.bot == "jamaat" else run_echo)(args)
    answer(stopped=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    options = arguments()
    event_loop.run(main(options), options.event_loop or ("uvloop" if options.bot == "jamaat" else "asyncio"))
