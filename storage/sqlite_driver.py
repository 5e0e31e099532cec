"""aiosqlite with one thread hand-off per statement instead of four.

aiosqlite runs every sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes four such calls
for each statement: make a cursor, execute, fetch all rows, close the cursor. Each is a round trip between the
event loop and that thread (a queue put, a thread wake-up, a wake-up of the loop through its self-pipe, a future
and a task switch), and together they cost about as much CPU as SQLite's own work on a small statement.

``OneHopConnection.cursor()`` gives a cursor at once (no hand-off); its ``execute`` makes the sqlite3 cursor,
executes and, when the statement returns rows, fetches them all in one hand-off — which is what SQLAlchemy does
next anyway (its asyncio adapter buffers every result). ``fetchall``/``fetchone``/``fetchmany`` then read the
buffered rows and ``close`` has nothing left to release: a sqlite3 statement is reset once its rows are read.
A rollback when no transaction is open (the pool's reset after a commit) is not handed off at all, and a
transaction's ``BEGIN IMMEDIATE`` goes with its first statement (``begin_with_next_statement``, called by the
dialect, ``OneHopDialect``), not on its own.
Everything sqlite3 does still happens on the connection's thread, in the same order; only the waiting is shorter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite


class OneHopCursor(aiosqlite.Cursor):
    def __init__(self, conn: OneHopConnection) -> None:
        super().__init__(conn, None)  # type: ignore[arg-type]  # the sqlite3 cursor is made by the first execute
        self._rows: list[Any] | None = None

    def _run(self, sql: str, parameters: Iterable[Any]) -> tuple[sqlite3.Cursor, list[Any] | None]:
        self._conn.begin_if_pending()
        cursor = self._cursor if self._cursor is not None else self._conn._conn.cursor()
        cursor.execute(sql, parameters)
        return cursor, (cursor.fetchall() if cursor.description is not None else [])

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneHopCursor:
        self._cursor, self._rows = await self._execute(self._run, sql, [] if parameters is None else parameters)
        return self

    async def _unbuffered(self) -> None:
        """aiosqlite's own way from here on (executemany, executescript): a sqlite3 cursor, rows read on demand."""
        if self._cursor is None:
            self._cursor = await self._execute(self._new_cursor)
        else:
            await self._execute(self._conn.begin_if_pending)
        self._rows = None

    def _new_cursor(self) -> sqlite3.Cursor:
        self._conn.begin_if_pending()
        return self._conn._conn.cursor()

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneHopCursor:
        await self._unbuffered()
        return await super().executemany(sql, parameters)

    async def executescript(self, sql_script: str) -> OneHopCursor:
        await self._unbuffered()
        return await super().executescript(sql_script)

    def _take(self, size: int | None) -> list[Any]:
        assert self._rows is not None
        size = len(self._rows) if size is None else size
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchone(self) -> Any:
        if self._rows is None:
            return await super().fetchone()
        taken = self._take(1)
        return taken[0] if taken else None

    async def fetchmany(self, size: int | None = None) -> Iterable[Any]:
        if self._rows is None:
            return await super().fetchmany(size)
        return self._take(size if size is not None else (self._cursor.arraysize if self._cursor else 1))

    async def fetchall(self) -> Iterable[Any]:
        if self._rows is None:
            return await super().fetchall() if self._cursor is not None else []
        return self._take(None)

    async def close(self) -> None:
        """Nothing to release when the rows were read in ``execute`` (or nothing ran); else close on the thread."""
        if self._cursor is not None and self._rows is None:
            await super().close()
        self._rows = []

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._cursor is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid if self._cursor is not None else None

    @property
    def description(self) -> Any:
        return self._cursor.description if self._cursor is not None else None


class _Ready:
    """What ``cursor()`` returns: awaitable and an async context manager, like aiosqlite's, with no hand-off."""

    __slots__ = ("cursor",)

    def __init__(self, cursor: OneHopCursor) -> None:
        self.cursor = cursor

    def __await__(self) -> Any:
        return self._value().__await__()

    async def _value(self) -> OneHopCursor:
        return self.cursor

    async def __aenter__(self) -> OneHopCursor:
        return self.cursor

    async def __aexit__(self, *_: Any) -> None:
        await self.cursor.close()


class OneHopConnection(aiosqlite.Connection):
    pending_begin: str | None = None  # a BEGIN that runs in the same hand-off as the transaction's first statement

    def begin_with_next_statement(self, sql: str) -> None:
        """``sql`` (``BEGIN IMMEDIATE``) runs on the thread just before the next statement, in its hand-off: a
        transaction's BEGIN is always followed by a statement (SQLAlchemy begins when it has one to run)."""
        self.pending_begin = sql

    def begin_if_pending(self) -> None:
        """On the connection's thread: the BEGIN that waits for this statement, if any."""
        sql, self.pending_begin = self.pending_begin, None
        if sql is not None:
            self._conn.execute(sql)

    def cursor(self) -> _Ready:  # type: ignore[override]
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return _Ready(OneHopCursor(self))

    async def commit(self) -> None:
        """A transaction whose BEGIN never ran (no statement came) has nothing to commit."""
        self.pending_begin = None
        await super().commit()

    async def rollback(self) -> None:
        """No hand-off when no transaction is open: SQLAlchemy's pool rolls back every connection it takes back,
        also right after a commit, and sqlite3 would do nothing then. Whether one is open is SQLite's own flag,
        read once every earlier call on the thread has finished (each was awaited)."""
        self.pending_begin = None
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()


class OneHopDialect(SQLiteDialect_aiosqlite):
    """SQLAlchemy's aiosqlite dialect, whose transactions take SQLite's write lock as they begin.

    A transaction that read first and wrote later would fail at once ("database is locked") when another
    connection had written in between; taking the lock up front (``BEGIN IMMEDIATE``) makes concurrent updates
    and jobs queue up instead. It runs on the connection's thread with the transaction's first statement
    (``begin_with_next_statement``): a statement of its own cost a hand-off and SQLAlchemy's whole execution path.
    Here in ``do_begin``, not in a ``begin`` event listener: any connection listener switches on SQLAlchemy's event
    dispatch for every statement and commit of the engine. Registered as ``sqlite+jamaat_onehop`` for
    ``storage.db.make_engine``; every connection is a ``OneHopConnection`` (``async_creator``)."""

    supports_statement_cache = True  # each dialect class says so itself, or SQLAlchemy compiles every statement anew

    def do_begin(self, dbapi_connection: Any) -> None:
        driver = dbapi_connection.driver_connection  # the pool's proxy of SQLAlchemy's adapter of ours
        if isinstance(driver, OneHopConnection):
            driver.begin_with_next_statement("BEGIN IMMEDIATE")
        else:  # not made by async_creator: a statement of its own
            dbapi_connection.cursor().execute("BEGIN IMMEDIATE")


registry.register("sqlite.jamaat_onehop", __name__, "OneHopDialect")


def async_creator(path: str, **options: Any) -> Callable[[], Any]:
    """For ``create_async_engine(async_creator=...)``: a OneHopConnection to ``path`` with sqlite3 ``options``."""

    async def connect() -> OneHopConnection:
        connection = OneHopConnection(partial(sqlite3.connect, path, **options), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
        try:
            return await connection
        except asyncio.CancelledError:
            await _thread_ended(connection)
            raise

    return connect


CUT_SHORT_WAIT_S = 5.0  # at most this long a cancelled connect waits for its thread


async def _thread_ended(connection: OneHopConnection) -> None:
    """A connect cut short (a job cancelled at shutdown): aiosqlite gives the connection up without waiting; its
    thread still opens the file, drops it and ends, and answers on this loop both times. Were the loop closed
    first, the thread would die with "Event loop is closed" instead of ending: so the connect waits here for the
    thread, briefly (opening a file takes no lock), while the loop still runs."""
    deadline = time.monotonic() + CUT_SHORT_WAIT_S
    while connection._thread.is_alive() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
