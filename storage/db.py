"""Engine, sessions and schema upgrades for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import importlib
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import greenlet_spawn

from storage import direct

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_S = 30  # how long a transaction waits for SQLite's write lock
IDLE_PING_S = 10.0  # a PostgreSQL connection idle in the pool this long is checked before it is used again
# The session of the update being handled, so that conversation state commits together with its data
# (and SQLite never waits on its own second connection).
current_session: ContextVar[AsyncSession | None] = ContextVar("jamaat_current_session", default=None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the driver, opens transactions (storage.sqlite_driver.OneHopDialect: BEGIN IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """A pooled PostgreSQL connection that has been idle ``idle_s`` or more is checked with a ping before it is
    used; a dead one is replaced (a restarted server, a firewall that dropped a quiet connection). SQLAlchemy's
    ``pool_pre_ping`` pings before every transaction instead: a round trip and ~0.14 ms of this process's CPU
    each time, for connections that a busy bot used milliseconds ago. A connection that dies while in steady
    use fails its statement; SQLAlchemy then replaces every connection of the pool, and the update is handled
    again (``bot.resilience``)."""
    dialect = engine.sync_engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["jamaat_idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("jamaat_idle_since")  # none on a new connection: it was just made
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:  # anything wrong with an idle connection: use a new one
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error
        if not alive:
            raise exc.DisconnectionError("idle connection failed its ping")

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checkout)


def dialect(session: AsyncSession) -> str:
    """The session's database: "postgresql" or "sqlite"."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_module(name: str) -> Any:
    """``sqlalchemy.dialects.<name>``, imported on first use: a bot on SQLite never loads PostgreSQL's (~2 MB)."""
    return importlib.import_module(f"sqlalchemy.dialects.{name}")


def insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT for the session's database, so ``.on_conflict_do_nothing()`` and ``.returning()`` work on both."""
    return dialect_module(dialect(session)).insert(table)


def make_engine(url: str, *, schema: str | None = None, idle_ping_s: float = IDLE_PING_S,
                **kwargs: Any) -> AsyncEngine:
    """An async engine; ``schema`` puts a PostgreSQL connection's search_path there; a PostgreSQL connection idle
    for ``idle_ping_s`` is pinged before it is used again."""
    if url.startswith("sqlite"):
        from storage.sqlite_driver import async_creator

        parsed = make_url(url)
        # Our dialect (its transactions begin with BEGIN IMMEDIATE) over our connections (one hand-off a statement).
        engine = create_async_engine(parsed.set(drivername="sqlite+jamaat_onehop"),
                                     async_creator=async_creator(parsed.database or ":memory:",
                                                                 timeout=BUSY_TIMEOUT_S, check_same_thread=False),
                                     **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)  # a pool event: statements stay event-free
        return engine
    from storage.models import use_postgresql

    use_postgresql()
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _ping_when_idle(engine, idle_ping_s)
    return engine


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, schema: str | None = None, **engine_kwargs: Any) -> None:
        self.url, self.schema = url, schema
        self.engine = make_engine(url, schema=schema, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=DirectSession)
        # SQLite lets one transaction write at a time, and every transaction here takes that lock first
        # (``storage.sqlite_driver.OneHopDialect``). Waiting for it in SQLite's busy handler is a poll with growing
        # sleeps that a loop of committed chunks (a fan-out) wins again and again; this process's transactions
        # queue here instead, first come first served, and start the moment the one before commits.
        self._turns = asyncio.Lock() if url.startswith("sqlite") else None
        self._turn_holder: asyncio.Task[Any] | None = None  # the task whose transaction has the turn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends without error."""
        if self.dialect == "sqlite" and current_session.get() is not None:
            # The update's own transaction holds SQLite's write lock: a second one would wait on it forever.
            raise RuntimeError("a second database session inside an update: use the update's session")
        async with self._turn():
            session = self.sessions()  # its transaction begins with its first statement
            sync = session.sync_session
            try:
                yield session
            except BaseException:
                await greenlet_spawn(_close, sync)  # rolls the transaction back and gives the connection back
                raise
            if sync.direct_connection is not None and sync.get_transaction() is None and sync._is_clean():
                # Only statements on the driver (storage.direct), no ORM: its COMMIT, without the ORM's.
                try:
                    await direct.commit(session)
                finally:
                    await greenlet_spawn(_close, sync)
                return
            # Commit and close in one pass through SQLAlchemy's greenlet (``async with session.begin()`` inside
            # ``async with session`` took three: begin, commit, close).
            await greenlet_spawn(_commit_and_close, sync)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This process's turn at SQLite's write lock (nothing on PostgreSQL). After SQLite's own busy timeout
        the transaction goes ahead without it, and SQLite decides, as it would without the queue."""
        if self._turns is None:
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._turn_holder:  # it would queue behind itself for the whole timeout
            raise RuntimeError("this task already holds SQLite's turn: use its open session, not a second one")
        try:
            async with asyncio.timeout(BUSY_TIMEOUT_S):  # a timer, not wait_for's extra task per transaction
                await self._turns.acquire()
        except TimeoutError:
            yield
            return
        self._turn_holder = task
        try:
            yield
        finally:
            self._turn_holder = None
            self._turns.release()

    @asynccontextmanager
    async def current_or_new_session(self) -> AsyncIterator[AsyncSession]:
        """The session of the update being handled, else a new one of its own."""
        session = current_session.get()
        if session is not None:
            yield session
            return
        async with self.session() as session:
            yield session

    async def upgrade(self, revision: str = "heads") -> None:
        """Bring the schema up to date with Alembic (not even imported when it is up to date already: Alembic
        and Mako would stay in the process's memory for nothing)."""
        if revision == "heads" and await self.current_revisions() == script_heads():
            return
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)

    async def current_revisions(self) -> set[str]:
        """The revisions the database is at (empty before the first upgrade)."""
        try:
            async with self.engine.connect() as connection:
                return set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
        except Exception:  # noqa: BLE001 - no table yet
            return set()

    async def dispose(self) -> None:
        await self.engine.dispose()


class DirectSession(Session):
    """The sessions' class: a session whose transaction began on the driver (``storage.direct``, on PostgreSQL)
    holds that pooled connection as ``direct_connection``, and the ORM's statements, flushes and savepoints go on
    it too (every ORM path asks ``get_bind``): one connection, one transaction. The commit is the driver's when
    the ORM did nothing, else the ORM's, which commits the connection's transaction; closing gives it back."""

    direct_connection: Connection | None = None

    def get_bind(self, mapper: Any = None, **kw: Any) -> Any:
        held = self.direct_connection
        if held is not None and kw.get("bind") is None:
            return held
        return super().get_bind(mapper, **kw)


def engine_of(session: AsyncSession) -> Any:
    """The session's (sync) engine, also while it holds a connection of its own (a key for per-engine caches)."""
    return session.get_bind().engine


def _commit_and_close(session: DirectSession) -> None:
    try:
        session.commit()
    finally:
        _close(session)


def _close(session: DirectSession) -> None:
    """Close the session (the ORM's transaction, if it had one, rolls back) and give back the connection the
    driver took, rolling back what is still open on it."""
    try:
        session.close()
    finally:
        held, session.direct_connection = session.direct_connection, None
        if held is not None:
            held.close()


_REVISION = re.compile(r"^revision\s*=\s*['\"](\w+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)


def script_heads() -> set[str]:
    """The heads of the migration scripts, read from their ``revision`` and ``down_revision`` lines."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            parents.update(re.findall(r"['\"](\w+)['\"]", down.group(1)))
    return revisions - parents


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
