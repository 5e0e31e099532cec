"""storage/sqlite_driver.py: aiosqlite with one thread hand-off per statement, same results as aiosqlite's own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.sqlite_driver import OneHopConnection, async_creator


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    yield database
    await database.dispose()


@contextmanager
def _counting() -> Iterator[list[str]]:
    """The names of the calls handed to a connection's thread inside the block."""
    calls: list[str] = []
    real = OneHopConnection._execute

    async def counted(self: OneHopConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", "?"))
        return await real(self, fn, *args, **kwargs)

    OneHopConnection._execute = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        OneHopConnection._execute = real  # type: ignore[method-assign]


async def _hand_offs(db: Database, statement: str, params: dict | None = None) -> tuple[int, list]:
    """How many calls went to the connection's thread to run the statement, and its rows."""
    async with db.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, OneHopConnection)
        await connection.execute(text("SELECT 1"))  # the transaction is open: BEGIN is not counted below
        with _counting() as calls:
            rows = (await connection.execute(text(statement), params or {})).all()
        await connection.commit()
    return len(calls), rows


async def test_a_statement_is_one_hand_off_and_reads_the_same(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        result = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert result.lastrowid == 1 and result.rowcount == 1
        await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        result = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert result.rowcount == 2
    calls, rows = await _hand_offs(db, "SELECT id, name FROM t ORDER BY id")
    assert rows == [(1, "a"), (2, "b!"), (3, "c!")]
    assert calls == 1  # aiosqlite's own cursor made 4: cursor, execute, fetchall, close
    calls, rows = await _hand_offs(db, "INSERT INTO t (name) VALUES ('d') RETURNING id")
    assert rows == [(4,)] and calls == 1
    async with db.engine.connect() as connection:
        result = await connection.execute(text("SELECT name FROM t WHERE id > :id ORDER BY id"), {"id": 1})
        assert result.fetchone() == ("b!",)
        assert result.fetchall() == [("c!",), ("d",)]
        assert (await connection.execute(text("SELECT name FROM t WHERE id = 99"))).first() is None


async def test_errors_are_sqlalchemys_as_before(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(IntegrityError):
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(OperationalError):
        async with db.engine.begin() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with db.engine.connect() as connection:  # the connection still works after both
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_a_transaction_is_begin_statement_commit_and_a_rollback_still_undoes(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    async with db.session() as session:  # warm: the pool holds the connection
        await session.execute(text("SELECT 1"))
    with _counting() as calls:
        async with db.session() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
    assert calls == ["_run", "commit"], calls  # BEGIN IMMEDIATE with the INSERT, then COMMIT: no reset after it
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("the handler failed")
    async with db.session() as session:
        assert (await session.execute(text("SELECT id FROM t"))).scalars().all() == [1]


async def test_the_write_lock_is_taken_with_a_transactions_first_statement(db: Database, tmp_path: Path) -> None:
    """BEGIN IMMEDIATE rides with the first statement, even a read: from then on another connection cannot write
    (so this transaction can write later without failing on a lock). A transaction with no statement takes
    nothing, and nothing is left pending for the next one."""
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    try:
        async with db.session() as session:
            await session.execute(text("SELECT count(*) FROM t"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released by the commit
        other.execute("ROLLBACK")
        async with db.engine.begin():  # begun, no statement: nothing taken, nothing left for the next one
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with _counting() as calls:
            async with db.session() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
        assert calls == ["_run", "commit"], calls
    finally:
        other.close()


async def test_transactions_take_turns_at_the_write_lock(db: Database) -> None:
    """A loop of committed chunks (a fan-out) no longer wins SQLite's write lock again and again while someone
    else's transaction (a person's /help) waits for it in SQLite's busy handler: they queue, first come first
    served, so the other one waits for one chunk at most."""
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    chunks_done: list[int] = []
    first_chunk = asyncio.Event()

    async def fan_out() -> None:
        for n in range(25):
            async with db.session() as session:
                await session.execute(text("INSERT INTO t (who) VALUES ('chunk')"))
                first_chunk.set()
                await asyncio.sleep(0.07)  # a chunk's work, with the lock held
            chunks_done.append(n)

    async def someone_else() -> int:
        await first_chunk.wait()  # the fan-out holds the lock now
        async with db.session() as session:
            await session.execute(text("INSERT INTO t (who) VALUES ('help')"))
            return len(chunks_done)

    _, waited_for = await asyncio.gather(fan_out(), someone_else())
    assert waited_for == 1, f"waited for {waited_for} of 25 chunks"  # the one under way


async def test_no_connection_event_listener_on_either_database(db: Database) -> None:
    """SQLite's BEGIN IMMEDIATE is the dialect's ``do_begin`` (``storage.sqlite_driver.OneHopDialect``), not a
    ``begin`` listener: any connection listener switches on SQLAlchemy's event dispatch for every statement and
    commit of the engine (a few % of an update's CPU). PostgreSQL's idle ping listens to the pool only."""
    from storage.db import make_engine

    postgres = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # not connected
    try:
        for engine in (db.engine, postgres):
            assert not engine.sync_engine._has_events, engine.dialect.name
            assert engine.sync_engine.dialect._supports_statement_cache, engine.dialect.name  # compiled once
    finally:
        await postgres.dispose()
    async with db.engine.connect() as connection:  # the write lock is still taken with the first statement
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        assert (await connection.get_raw_connection()).driver_connection.in_transaction


async def test_a_second_session_in_the_task_holding_the_turn_is_refused_at_once(db: Database) -> None:
    """A task that opens a session while its own is still open would queue behind itself and wait SQLite's whole
    busy timeout (30 s) before going ahead (a test's helper did, on every run). It is refused at once instead;
    another task still waits for its turn, and the task's next session after the first has closed is fine."""
    async with db.session():
        started = asyncio.get_running_loop().time()
        with pytest.raises(RuntimeError, match="already holds"):
            async with db.session():
                pass
        assert asyncio.get_running_loop().time() - started < 1
        other = asyncio.create_task(_one_session(db))
        await asyncio.sleep(0.05)
        assert not other.done()  # waiting for its turn
    await other
    async with db.session():
        pass


async def _one_session(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))


def test_a_connect_cut_short_waits_for_its_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connect cancelled while its thread opens the file (a job stopped at shutdown) waits for that thread to
    finish: aiosqlite gives the connection up without waiting, and when the loop was closed before its thread
    answered, the thread died with "Event loop is closed" (the suite's stray PytestUnhandledThreadExceptionWarning)."""
    entered, go_on = threading.Event(), threading.Event()
    real_connect = sqlite3.connect

    def slow_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        entered.set()
        go_on.wait(5)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", slow_connect)
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: died.append(hook.exc_value))
    before = set(threading.enumerate())

    async def cut_short() -> None:
        task = asyncio.create_task(async_creator(str(tmp_path / "cut.db"), check_same_thread=False)())
        while not entered.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        threading.Timer(0.2, go_on.set).start()  # the file opens a little later, whatever the loop does meanwhile
        with pytest.raises(asyncio.CancelledError):
            await task

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(cut_short())
    finally:
        loop.close()  # as at a shutdown: nothing is left to answer on this loop
    go_on.set()
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
    assert died == []
