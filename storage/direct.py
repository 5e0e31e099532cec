"""Hot statements run straight on the database driver, inside the session's own transaction.

SQLAlchemy's session costs far more per statement than the statement itself: on PostgreSQL an update's first
read took ~0.5 ms of CPU through ``AsyncSession.execute`` (a greenlet per call, the ORM's execution context,
the cache key, the result's processing) and ~0.1 ms through asyncpg. A ``Direct`` statement is a Core statement
compiled once per database; ``rows(session, params)`` runs it on the connection the session's transaction holds
(the transaction is begun first if it was not yet), with the same bind and result conversions SQLAlchemy's types
would apply, and turns a driver error into SQLAlchemy's exception classes (a lost connection is invalidated and
flagged ``connection_invalidated``, so ``bot.resilience`` retries the update as before). It commits and rolls back
with everything else the session does.

``attach`` turns a row into an ORM object the session knows, as if the session had loaded it: changing it is
flushed as usual. Use both only on paths that run at every update or nearly (``services.people.person_with_roles``,
the update's claim, ``services.voting.get_round``, ``storage.conversation.flush``, ``services.helpdesk.may_ask``,
the registration's ``first_contact``, ``set_phone``, ``set_village`` and lists of places, /vote's
``open_rounds_for``, ``ask_attendance`` and ``my_choices``, a confirmed ballot's ``cast_ballot``); everything else
stays ORM. A direct statement autoflushes the session's pending ORM changes only when asked to. ``run_many`` runs
a statement once per set of parameters (the driver's executemany).

Statements run this way are invisible to SQLAlchemy's events and dialect: counters register in ``OBSERVERS``
(called with the SQL of each statement; empty in production), and commits on the driver in ``COMMIT_OBSERVERS``.

On PostgreSQL, when a direct statement is the first of a session's transaction, the transaction begins here, on a
pooled connection the session then holds (``storage.db.DirectSession``): the ORM joins it, and ``commit`` ends it
when the ORM never did."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, exc, inspect, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.util.concurrency import greenlet_spawn

OBSERVERS: list[Callable[[str], None]] = []  # each direct statement's SQL, for counters (tests, benchmarks)
COMMIT_OBSERVERS: list[Callable[[Any], None]] = []  # each COMMIT on the driver (``commit``), with its connection
_KEY = "jamaat_direct"  # session.info: the driver connection of the session's current transaction


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the driver's order
    defaults: dict[str, Any]  # values given in the statement itself (literals)
    binds: dict[str, Callable[[Any], Any]]  # per parameter name, where the type converts
    results: tuple[Callable[[Any], Any] | None, ...] | None  # per result column; None when none converts


class Direct:
    """A Core statement (``select``, ``insert``, ``delete`` …) for ``rows``, compiled once per database."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found


def _compile(statement: Any, dialect: Any) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if compiled.has_out_parameters or "POSTCOMPILE" in str(compiled):  # an IN list, expanded at each execution
        raise ValueError("a Direct statement takes no expanding parameters (IN lists): use OR, or the ORM")
    computed = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    if computed:  # SQLAlchemy would compute these in Python at each execution; here they would be NULL
        raise ValueError(f"a Direct statement computes no Python-side defaults: give {', '.join(computed)} values")
    names = tuple(compiled.positiontup or ())
    defaults, binds = {}, {}
    for name, bind in compiled.binds.items():
        if not bind.required and bind.callable is None:
            defaults[name] = bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[name] = process
    # the type of each column of the result (a SELECT's, or RETURNING's)
    processors = tuple(entry[3].dialect_impl(dialect).result_processor(dialect, None)
                       for entry in compiled._result_columns)
    results = processors if any(p is not None for p in processors) else None
    return _Compiled(str(compiled), names, defaults, binds, results)


@dataclass
class _Driver:
    transaction: Any  # the session's SessionTransaction this connection belongs to
    connection: AsyncConnection
    adapter: Any  # SQLAlchemy's DB-API adapter of the driver's connection
    driver: Any  # asyncpg's Connection, or storage.sqlite_driver.OneHopConnection
    postgres: bool
    own: Any = None  # the pooled connection the session's transaction began on here (storage.db.DirectSession)


async def _driver(session: AsyncSession) -> _Driver:
    sync = session.sync_session
    transaction = sync.get_transaction()
    found: _Driver | None = session.info.get(_KEY)
    if found is not None:
        if found.own is not None and found.own is getattr(sync, "direct_connection", None):
            return found  # the connection this session's transaction began on (the ORM joins it)
        if transaction is not None and found.transaction is transaction:
            return found
    if transaction is None and session.bind.dialect.name == "postgresql" and hasattr(sync, "direct_connection"):
        # The transaction begins here, on a pooled connection the session then holds (storage.db.DirectSession):
        # SQLAlchemy's own begin (its session transaction, connection and transaction objects) cost ~45 µs.
        own = await greenlet_spawn(sync.bind.connect)
        sync.direct_connection = own
        fairy = own.connection
        found = session.info[_KEY] = _Driver(None, AsyncConnection(session.bind, own), fairy.dbapi_connection,
                                             fairy.driver_connection, True, own)
        return found
    connection = await session.connection()  # begins the session's transaction if it had not begun
    fairy = connection.sync_connection.connection  # checked out by now: an attribute, no I/O
    found = session.info[_KEY] = _Driver(session.sync_session.get_transaction(), connection,
                                         fairy.dbapi_connection, fairy.driver_connection,
                                         connection.dialect.name == "postgresql")
    return found


async def rows(session: AsyncSession, statement: Direct, params: Mapping[str, Any] | None = None, *,
               autoflush: bool = False) -> list[Any]:
    """Run ``statement`` in the session's transaction; its rows (tuples or the driver's records, by position),
    converted as SQLAlchemy would; an empty list for a statement without rows. ``autoflush``: the session's
    pending ORM changes are written first, as its own queries would (only when there are any)."""
    found, compiled = await _prepared(session, statement, autoflush)
    got = await _execute(found, compiled.sql, _args(compiled, params))
    results = compiled.results
    if results is None:
        return got
    return [tuple(value if process is None else process(value) for process, value in zip(results, row, strict=True))
            for row in got]


async def run_many(session: AsyncSession, statement: Direct, params: Sequence[Mapping[str, Any]], *,
                   autoflush: bool = False) -> None:
    """Run a statement without rows once per set of ``params`` (the driver's executemany: one statement, as
    SQLAlchemy counts it), in the session's transaction, as ``rows`` does."""
    if not params:
        return
    found, compiled = await _prepared(session, statement, autoflush)
    await _execute(found, compiled.sql, [_args(compiled, p) for p in params], many=True)


async def _execute(found: _Driver, sql: str, args: list[Any], *, many: bool = False) -> list[Any]:
    """The statement on the driver's connection, in its transaction (begun first if needed): its rows, or with
    ``many`` once per list of ``args`` (none). A driver error is raised as SQLAlchemy's (``_translated``)."""
    try:
        if found.postgres:
            adapter = found.adapter
            async with adapter._execute_mutex:  # one statement at a time on a connection, as SQLAlchemy's own
                if adapter._transaction is None:  # asyncpg's transaction begins with the first statement
                    await adapter._start_transaction()
                if many:
                    await found.driver.executemany(sql, args)
                    return []
                return await found.driver.fetch(sql, *args)
        return await found.driver._execute(_sqlite_run_many if many else _sqlite_run, found.driver, sql, args)
    except Exception as error:  # noqa: BLE001 - re-raised as SQLAlchemy's
        raise await _translated(found, sql, args, error) from error


async def _prepared(session: AsyncSession, statement: Direct, autoflush: bool) -> tuple[_Driver, _Compiled]:
    if autoflush:
        sync = session.sync_session
        if sync.new or sync.dirty or sync.deleted:
            await session.flush()
    found = await _driver(session)
    compiled = statement.compiled(found.connection.dialect)
    for observe in OBSERVERS:
        observe(compiled.sql)
    return found, compiled


async def commit(session: AsyncSession) -> None:
    """COMMIT on the driver, for a session whose transaction began here and that the ORM never joined
    (``storage.db.Database.session``); its errors as ``rows`` raises them."""
    found: _Driver = session.info[_KEY]
    adapter = found.adapter
    for observe in COMMIT_OBSERVERS:
        observe(found.own)
    try:
        async with adapter._execute_mutex:
            if adapter._transaction is not None:
                await adapter._call_and_discard(adapter._transaction.commit)
    except Exception as error:  # noqa: BLE001 - re-raised as SQLAlchemy's
        raise await _translated(found, "COMMIT", [], error) from error


def _args(compiled: _Compiled, params: Mapping[str, Any] | None) -> list[Any]:
    """The parameters in the driver's order, converted as the columns' types would."""
    given = compiled.defaults if not params else {**compiled.defaults, **params}
    binds = compiled.binds
    return [binds[name](given[name]) if name in binds else given[name] for name in compiled.names]


def _sqlite_run_many(driver: Any, sql: str, many: list[list[Any]]) -> list[Any]:
    driver.begin_if_pending()
    driver._conn.executemany(sql, many)
    return []


def _sqlite_run(driver: Any, sql: str, args: list[Any]) -> list[Any]:
    """On the connection's thread: the transaction's pending BEGIN, the statement and its rows, one hand-off."""
    driver.begin_if_pending()
    cursor = driver._conn.execute(sql, args)
    return cursor.fetchall() if cursor.description is not None else []


async def _translated(found: _Driver, sql: str, args: list[Any], error: Exception) -> Exception:
    """The driver's error as SQLAlchemy raises it; a lost connection is invalidated, as SQLAlchemy does."""
    dialect = found.connection.dialect
    dbapi_error = error
    if found.postgres:
        try:
            found.adapter._handle_exception(error)  # raises the DB-API adapter's class for asyncpg's error
        except Exception as adapted:  # noqa: BLE001
            dbapi_error = adapted
    if not isinstance(dbapi_error, dialect.loaded_dbapi.Error):
        return dbapi_error
    invalidated = dialect.is_disconnect(dbapi_error, found.adapter, None)
    if invalidated:
        await found.connection.invalidate(dbapi_error)
    return exc.DBAPIError.instance(sql, args, dbapi_error, dialect.loaded_dbapi.Error,
                                   connection_invalidated=invalidated, dialect=dialect)


def attach(session: AsyncSession, model: type, values: Mapping[str, Any]) -> Any:
    """The ``model`` object of the row ``values`` (every column attribute by name, and loaded relationships), in
    the session as if its own query had loaded it. When the session holds that object already, that object,
    unchanged (as a query leaves it)."""
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key(tuple(values[c.key] for c in mapper.primary_key))
    identity_map = session.sync_session.identity_map
    held = identity_map.get(key)
    if held is not None:
        return held
    # What the ORM's loader does with a new row (sqlalchemy.orm.loading, _instance): an instance with its state
    # keyed, in the identity map, its values committed as loaded. Attributes not given stay unloaded (a relationship
    # left out loads lazily, as with the ORM's ``lazyload``). No instance or session events: Jamaat has none.
    assert not mapper.class_manager.dispatch.load and not session.sync_session.dispatch.loaded_as_persistent
    instance = mapper.class_manager.new_instance()
    state = instance_state(instance)
    state.dict.update(values)
    state.key, state.identity_token = key, key[2]
    state.session_id = session.sync_session.hash_key
    identity_map._add_unpresent(state, key)
    state._commit_all(state.dict, identity_map)
    return instance


class Entity:
    """A model's column attributes in a fixed order: the columns to select, and a row (from ``start``) made an
    object of the session (``attach``). The same order everywhere, so a statement of several models' columns is
    read back by position."""

    def __init__(self, model: type) -> None:
        self.model = model
        attributes = [a for a in inspect(model).column_attrs if len(a.columns) == 1]
        self.keys = tuple(a.key for a in attributes)
        self.columns = tuple(a.columns[0] for a in attributes)

    def __len__(self) -> int:
        return len(self.keys)

    def values(self, row: Any, start: int = 0) -> dict[str, Any]:
        return {key: row[start + i] for i, key in enumerate(self.keys)}

    def attach(self, session: AsyncSession, row: Any, start: int = 0, **loaded: Any) -> Any:
        """The object of ``row`` from ``start``, with ``loaded`` relationships (``attach``)."""
        return attach(session, self.model, {**self.values(row, start), **loaded})


def binds(*columns: str) -> dict[str, Any]:
    """``.values(**binds("a", "b"))``: each column's value a parameter of its own name (an INSERT's columns)."""
    return {column: bindparam(column) for column in columns}


def _by_primary_key(mapper: Any) -> Any:
    """The WHERE of one row by its primary key, with parameters ``pk_0``, ``pk_1`` … (``_key_params``)."""
    return and_(*(c == bindparam(f"pk_{i}") for i, c in enumerate(mapper.primary_key)))


def _key_params(key: tuple[Any, ...]) -> dict[str, Any]:
    return {f"pk_{i}": value for i, value in enumerate(key)}


_BY_KEY: dict[type, tuple[Direct, Entity]] = {}


async def get(session: AsyncSession, model: type, *key: Any, refresh: bool = True) -> Any:
    """``session.get(model, key, populate_existing=True)``: the row read afresh by its primary key, as an object
    of the session (``attach``); None when there is none. An object the session holds already is refreshed by
    the ORM itself, or with ``refresh=False`` returned as it is (``session.get``)."""
    mapper = inspect(model)
    held = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key(key))
    if held is not None:
        if not refresh:
            return held
        return await session.get(model, key if len(key) > 1 else key[0], populate_existing=True)
    found = _BY_KEY.get(model)
    if found is None:
        entity = Entity(model)
        found = _BY_KEY[model] = (Direct(select(*entity.columns).where(_by_primary_key(mapper))), entity)
    statement, entity = found
    got = await rows(session, statement, _key_params(key))
    return entity.attach(session, got[0]) if got else None


_UPDATES: dict[tuple[type, tuple[str, ...]], Direct] = {}


async def update(session: AsyncSession, instance: Any, **values: Any) -> None:
    """Set column attributes of an object the session holds and write them at once, with one UPDATE by its
    primary key straight on the driver; the object then holds them as loaded, so the ORM's flush (its unit of
    work cost more than the statement) has nothing left to write for them. Columns only: a relationship the
    columns stand for is the caller's to set (``set_committed_value``). An object not yet inserted just takes them."""
    if instance_state(instance).key is None:  # not in the database yet: the ORM's flush inserts it with these
        for name, value in values.items():
            setattr(instance, name, value)
        return
    mapper = inspect(type(instance))
    names = tuple(sorted(values))
    statement = _UPDATES.get((mapper.class_, names))
    if statement is None:
        statement = _UPDATES[(mapper.class_, names)] = Direct(
            sql_update(mapper.local_table).where(_by_primary_key(mapper))
            .values({name: bindparam(f"v_{name}") for name in names}))
    await rows(session, statement, {**{f"v_{name}": value for name, value in values.items()},
                                    **_key_params(mapper.primary_key_from_instance(instance))})
    for name, value in values.items():
        set_committed_value(instance, name, value)
