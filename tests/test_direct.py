"""storage/direct.py: statements run straight on the driver, inside the session's transaction, with SQLAlchemy's
conversions and exceptions, and rows turned into the session's ORM objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage import direct
from storage.db import Database, engine_of
from storage.direct import Direct
from storage.models import FsmRecord, Person, ProcessedUpdate
from tests.backends import POSTGRES_URL, postgres_schema
from tests.test_idle_connections import PID, killed_after_use

_TABLE = FsmRecord.__table__
_INSERT = Direct(_TABLE.insert().values(key=bindparam("key"), state=bindparam("state"), data=bindparam("data"),
                                        updated_at=bindparam("at")))
_READ = Direct(select(_TABLE.c.state, _TABLE.c.data, _TABLE.c.updated_at).where(_TABLE.c.key == bindparam("key")))
_COUNT = Direct(select(func.count()).select_from(_TABLE))


async def test_a_statement_is_part_of_the_session_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await direct.rows(session, _INSERT, {"key": "a", "state": "S", "data": {}, "at": datetime.now(UTC)})
            assert (await direct.rows(session, _COUNT))[0][0] == 1
            raise RuntimeError("rolled back with the session")
    async with db.session() as session:
        assert (await direct.rows(session, _COUNT))[0][0] == 0
        await direct.rows(session, _INSERT, {"key": "a", "state": "S", "data": {}, "at": datetime.now(UTC)})
        session.add(FsmRecord(key="b", state="T", data={}))  # the ORM's work commits in the same transaction
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 2


async def test_values_are_converted_as_sqlalchemy_converts_them(db: Database) -> None:
    at = datetime(2026, 11, 30, 17, 5, 1, 250000, tzinfo=UTC)
    data = {"problems": [3, 1], "name": "Бурул", "nested": {"ok": True}}
    async with db.session() as session:
        await direct.rows(session, _INSERT, {"key": "k", "state": "Vote:ballot", "data": data, "at": at})
    async with db.session() as session:
        assert (await direct.rows(session, _READ, {"key": "k"})) == [("Vote:ballot", data, at)]
        orm = await session.get(FsmRecord, "k")
        assert orm is not None and (orm.state, orm.data, orm.updated_at) == ("Vote:ballot", data, at)
        assert await direct.rows(session, _READ, {"key": "none"}) == []


async def test_a_driver_error_is_sqlalchemys(db: Database) -> None:
    claim = Direct(ProcessedUpdate.__table__.insert().values(update_id=bindparam("id"), processed_at=func.now()))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await direct.rows(session, claim, {"id": 2**40})  # a big id: BIGINT on both
            await direct.rows(session, claim, {"id": 2**40})
    async with db.session() as session:  # the failed transaction was rolled back, the connection is fine
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_run_many_runs_a_statement_per_set_of_parameters_in_the_transaction(db: Database) -> None:
    at = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    many = [{"key": f"k{i}", "state": "S", "data": {"i": i}, "at": at} for i in range(3)]
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await direct.run_many(session, _INSERT, many)
            assert (await direct.rows(session, _COUNT))[0][0] == 3
            raise RuntimeError("rolled back with the session")
    async with db.session() as session:
        assert (await direct.rows(session, _COUNT))[0][0] == 0
        await direct.run_many(session, _INSERT, [])  # nothing to run: no statement
        await direct.run_many(session, _INSERT, many)
    async with db.session() as session:
        assert (await direct.rows(session, _READ, {"key": "k2"})) == [("S", {"i": 2}, at)]
    with pytest.raises(IntegrityError):  # a repeated key among the sets: SQLAlchemy's exception, all rolled back
        async with db.session() as session:
            await direct.run_many(session, _INSERT, [{**many[0], "key": "new"}, many[1]])
    async with db.session() as session:
        assert (await direct.rows(session, _COUNT))[0][0] == 3


async def test_attach_makes_an_object_of_the_session(db: Database) -> None:
    async with db.session() as session:
        session.add(Person(telegram_id=7, first_name="Айгүл", language="ky"))
    async with db.session() as session:
        person = await direct.get(session, Person, 1)
        assert person is not None and person.first_name == "Айгүл" and person.created_at.tzinfo is not None
        assert await direct.get(session, Person, 1) is person  # the session's object, as session.get gives
        assert await session.get(Person, 1) is person
        assert await direct.get(session, Person, 1, refresh=False) is person
        person.language = "ru"  # flushed with the commit, as for any loaded object
        assert await direct.get(session, Person, 2) is None
    async with db.session() as session:
        assert (await session.get(Person, 1)).language == "ru"


async def test_get_reads_an_object_the_session_holds_afresh(db: Database) -> None:
    async with db.session() as session:
        session.add(Person(telegram_id=7, first_name="A"))
    async with db.session() as session:
        person = await direct.get(session, Person, 1)
        await session.execute(text("UPDATE person SET first_name = 'B' WHERE id = 1"))
        assert await direct.get(session, Person, 1) is person and person.first_name == "B"
        await session.execute(text("UPDATE person SET first_name = 'C' WHERE id = 1"))
        assert await direct.get(session, Person, 1, refresh=False) is person and person.first_name == "B"


async def test_statements_are_observed() -> None:
    seen: list[str] = []
    direct.OBSERVERS.append(seen.append)
    try:
        async with postgres_schema() as schema:
            db = Database(POSTGRES_URL, schema=schema)
            try:
                await db.upgrade()
                async with db.session() as session:
                    await direct.rows(session, _COUNT)
            finally:
                await db.dispose()
    finally:
        direct.OBSERVERS.remove(seen.append)
    assert len(seen) == 1 and seen[0].startswith("SELECT count(*)")


async def test_a_lost_postgresql_connection_is_invalidated_and_replaced() -> None:
    """As for SQLAlchemy's own statements (``tests/test_idle_connections.py``): the statement fails with
    ``connection_invalidated`` (so ``bot.resilience`` handles the update again) and the next session works."""
    async with postgres_schema() as schema:
        db = Database(POSTGRES_URL, schema=schema)
        try:
            await db.upgrade()
            first = await killed_after_use(db)
            with pytest.raises(DBAPIError) as failed:
                async with db.session() as session:
                    await direct.rows(session, _COUNT)
            assert failed.value.connection_invalidated
            async with db.session() as session:
                assert await session.scalar(PID) != first
                assert (await direct.rows(session, _COUNT))[0][0] == 0
                await session.execute(delete(FsmRecord))
        finally:
            await db.dispose()


async def test_an_in_list_is_refused_when_compiled(db: Database) -> None:
    """An IN list's parameters are expanded at each execution by SQLAlchemy: a Direct statement cannot run it."""
    statement = Direct(select(_TABLE.c.key).where(_TABLE.c.state.in_(("a", "b"))))
    async with db.session() as session:
        with pytest.raises(ValueError, match="IN lists"):
            await direct.rows(session, statement)


async def test_a_column_with_a_python_default_must_be_given_when_compiled(db: Database) -> None:
    """Person.created_at's default is computed by SQLAlchemy in Python at each execution: a direct INSERT that
    left it out would write NULL, so it is refused."""
    columns = {"telegram_id": bindparam("telegram_id"), "first_name": bindparam("first_name")}
    async with db.session() as session:
        with pytest.raises(ValueError, match="created_at"):
            await direct.rows(session, Direct(Person.__table__.insert().values(**columns)), {"telegram_id": 8})
        given = Direct(Person.__table__.insert().values(**columns, created_at=bindparam("at")))
        await direct.rows(session, given, {"telegram_id": 8, "first_name": "A", "at": datetime.now(UTC)})


async def test_update_writes_at_once_and_leaves_nothing_to_flush(db: Database) -> None:
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    async with db.session() as session:
        session.add(Person(telegram_id=7, first_name="A", language="ky"))
    async with db.session() as session:
        person = await direct.get(session, Person, 1)
        await direct.update(session, person, language="ru", consent_at=at)
        assert person.language == "ru" and person.consent_at == at and person not in session.dirty
        assert (await session.execute(text("SELECT language FROM person WHERE id = 1"))).scalar() == "ru"
    async with db.session() as session:
        person = await session.get(Person, 1)
        assert (person.language, person.consent_at) == ("ru", at)
    with pytest.raises(RuntimeError):  # written in the session's transaction: rolled back with it
        async with db.session() as session:
            await direct.update(session, await direct.get(session, Person, 1), language="en")
            raise RuntimeError
    async with db.session() as session:
        assert (await session.get(Person, 1)).language == "ru"


async def test_update_of_an_object_not_yet_inserted_sets_its_attributes(db: Database) -> None:
    async with db.session() as session:
        person = Person(telegram_id=8, first_name="A")
        session.add(person)
        await direct.update(session, person, language="uz")
    async with db.session() as session:
        assert (await session.scalar(select(Person).where(Person.telegram_id == 8))).language == "uz"


async def test_a_transaction_begun_on_the_driver_is_the_orms_too(db: Database) -> None:
    """On PostgreSQL an update's transaction begins on the driver, on a pooled connection the session then holds
    (``storage.db.DirectSession``): the ORM's reads, flushes and savepoints after it go on that connection, in that
    transaction, and everything commits, or rolls back, together."""
    postgres = db.dialect == "postgresql"
    pool = db.engine.sync_engine.pool
    at = datetime.now(UTC)
    async with db.session() as session:
        await direct.rows(session, _INSERT, {"key": "a", "state": "S", "data": {}, "at": at})
        sync = session.sync_session
        assert (sync.direct_connection is not None and sync.get_transaction() is None) == postgres
        assert engine_of(session) is db.engine.sync_engine  # per-engine caches keep their key
        assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 1  # the driver's row, unsaved
        async with session.begin_nested():
            session.add(FsmRecord(key="b", state="T", data={}))
        session.add(FsmRecord(key="c", state="U", data={}))  # flushed by the commit, on the same connection
        if postgres:
            assert pool.checkedout() == 1
            assert await _count_elsewhere(db) == 0  # nothing committed yet
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 3
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await direct.rows(session, _INSERT, {"key": "d", "state": "S", "data": {}, "at": at})
            session.add(FsmRecord(key="e", state="T", data={}))
            await session.flush()
            raise RuntimeError("both roll back")
    async with db.session() as session:
        assert (await direct.rows(session, _COUNT))[0][0] == 3
    if postgres:
        assert pool.checkedout() == 0


async def test_a_transaction_of_driver_statements_alone_commits_on_the_driver(db: Database) -> None:
    commits: list[object] = []
    direct.COMMIT_OBSERVERS.append(commits.append)
    try:
        async with db.session() as session:
            await direct.rows(session, _INSERT, {"key": "a", "state": "S", "data": {}, "at": datetime.now(UTC)})
            person = direct.attach(session, FsmRecord, {"key": "a", "state": "S", "data": {}, "updated_at": None})
            assert person.state == "S"  # an object read, unchanged: nothing for the ORM to write
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                await direct.rows(session, _INSERT, {"key": "b", "state": "S", "data": {}, "at": datetime.now(UTC)})
                raise RuntimeError("rolled back on the driver's connection")
    finally:
        direct.COMMIT_OBSERVERS.remove(commits.append)
    postgres = db.dialect == "postgresql"
    assert len(commits) == (1 if postgres else 0)  # SQLite's transactions begin through the ORM, as before
    if postgres:
        assert db.engine.sync_engine.pool.checkedout() == 0
    async with db.session() as session:
        assert (await direct.rows(session, _READ, {"key": "a"}))[0][0] == "S"
        assert (await direct.rows(session, _COUNT))[0][0] == 1


async def _count_elsewhere(db: Database) -> int:
    """Rows of the table as another connection sees them (committed ones)."""
    async with db.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(FsmRecord))).scalar_one())
