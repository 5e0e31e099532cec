"""Storage on SQLite and PostgreSQL: migrations, places, people, roles, FSM state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from services import people
from services.places import SAMPLE_PLACES, PlacesFileError, find_aiyl_aimak, import_places, list_villages
from services.roles import Role, RoleError, grant, revoke, roles_of
from storage.db import Database, alembic_config
from storage.fsm import DatabaseStorage
from storage.models import AiylAimak, Person, ProcessedUpdate, Village
from storage.schema import metadata

KEY = "0123456789abcdef-test-key"


async def test_upgrade_reaches_every_head_and_is_repeatable(db: Database) -> None:
    await db.upgrade()
    async with db.session() as session:
        versions = set((await session.scalars(text("SELECT version_num FROM alembic_version"))).all())
    assert versions == set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_migrations_match_the_models(db: Database) -> None:
    """Autogenerate finds nothing to do: the migrations create exactly what the models describe."""
    def diff(connection):
        def ours(obj, name, type_, reflected, compare_to) -> bool:
            # Tables the models do not declare (alembic_version, full-text search shadow tables) are not compared.
            return not (type_ == "table" and reflected and compare_to is None)

        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": ours})
        return compare_metadata(context, metadata)

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with db.session() as session:
            assert (await session.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await session.scalar(text("PRAGMA foreign_keys"))) == 1
    finally:
        await db.dispose()


async def test_sample_places_import_is_idempotent(db: Database) -> None:
    async with db.session() as session:
        first = await import_places(session, SAMPLE_PLACES)
    async with db.session() as session:
        second = await import_places(session, SAMPLE_PLACES)
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        assert kok_irim is not None and kok_irim.name_ky == "Көк-Ирим" and kok_irim.name_ru == "Кок-Ирим"
        names = [v.name_ky for v in await list_villages(session, kok_irim.id)]
        aimaks = await session.scalar(select(func.count()).select_from(AiylAimak))
        villages = await session.scalar(select(func.count()).select_from(Village))
    assert names == ["Арал", "Бирдик"]
    assert first.aiyl_aimaks_added == aimaks == 4 and first.villages_added == villages == 10
    assert second.aiyl_aimaks_added == 0 and second.villages_added == 0 and second.villages_updated == 10


async def test_places_file_without_columns_is_refused(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\nx,y\n", encoding="utf-8")
    async with db.session() as session:
        with pytest.raises(PlacesFileError, match="missing columns"):
            await import_places(session, bad)


async def registered(db: Database, telegram_id: int, phone: str, village_code: str = "aral",
                     sex: str | None = None) -> int:
    async with db.session() as session:
        if await find_aiyl_aimak(session, "kok-irim") is None:
            await import_places(session, SAMPLE_PLACES)
        village = await session.scalar(select(Village).where(Village.code == village_code))
        person = await people.first_contact(session, telegram_id, "Name")
        await people.set_phone(session, person, KEY, phone)
        await people.set_village(session, person, village.id)
        await people.set_sex(session, person, sex)
        return person.id


async def test_phone_is_kept_only_as_a_keyed_hash(db: Database) -> None:
    await registered(db, 1001, "+996 700 123 456")
    async with db.session() as session:
        person = await people.person_by_telegram_id(session, 1001)
        assert person is not None and person.is_registered
        assert "700123456" not in (person.phone_hash or "") and person.phone_tail == "56"
        same = await people.person_by_phone(session, KEY, "0700 123 456")
        assert same is not None and same.id == person.id


async def test_an_update_reads_the_person_without_places_and_an_answer_reads_them_when_it_names_them(
        db: Database) -> None:
    await registered(db, 1001, "+996700123456", "aral")
    async with db.session() as session:
        visitor = await people.person_with_roles(session, 1001)
        person = visitor.person
        assert person is not None
        assert "aiyl_aimak" in sa_inspect(person).unloaded  # not joined to every update's read
        assert "village" not in sa_inspect(person).unloaded  # a ballot names it
        places = await people.places_of(session, person)
        assert places.village is not None and places.village.code == "aral"
        assert places.aiyl_aimak is not None and places.aiyl_aimak.code == "kok-irim"
    async with db.session() as session:  # the village in the session already, its aiyl aimak not loaded
        person = (await people.person_with_roles(session, 1001)).person
        assert person is not None
        village = await session.get(Village, person.village_id)
        assert village is not None and "aiyl_aimak" in sa_inspect(village).unloaded
        places = await people.places_of(session, person)
        assert places.village is village and places.aiyl_aimak is not None
        assert places.aiyl_aimak.code == "kok-irim"
    async with db.session() as session:  # somebody who has not chosen a place yet
        newcomer = await people.first_contact(session, 1002, "New")
        assert await people.places_of(session, newcomer) == people.Places(None, None)


async def test_one_phone_one_person(db: Database) -> None:
    await registered(db, 1001, "+996700123456")
    async with db.session() as session:
        other = await people.first_contact(session, 1002, "Other")
        with pytest.raises(people.RegistrationError, match="phone_taken"):
            await people.set_phone(session, other, KEY, "0700123456")
    with pytest.raises(IntegrityError):  # the database keeps it too, not only the Python check
        async with db.session() as session:
            session.add(Person(telegram_id=1003, phone_hash=people.phone_hash(KEY, "+996700123456")))


async def test_forget_keeps_anonymous_row_for_tallies(db: Database) -> None:
    person_id = await registered(db, 1001, "+996700123456", sex="f")
    async with db.session() as session:
        await grant(session, 1001, Role.LAWYER)
        person = await people.person_by_telegram_id(session, 1001)
        await people.forget(session, person)
    async with db.session() as session:
        row = await session.get(Person, person_id)
        assert row.telegram_id is None and row.phone_hash is None and row.first_name is None
        assert row.village_id is not None and row.sex == "f"  # still counted by village and group
        assert not (await roles_of(session, 1001)).lawyer
        again = await people.first_contact(session, 1001, "Name")
        assert again.id != person_id and not again.is_registered


async def test_roles_are_scoped_to_aiyl_aimaks(db: Database) -> None:
    await registered(db, 1001, "+996700123456")
    async with db.session() as session:
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        cholpon = await find_aiyl_aimak(session, "cholpon")
        assert await grant(session, 2001, Role.ORGANISER, kok_irim.id)
        assert not await grant(session, 2001, Role.ORGANISER, kok_irim.id)
        with pytest.raises(RoleError):
            await grant(session, 2001, Role.ORGANISER)
        roles = await roles_of(session, 2001, frozenset({9001}))
        assert roles.organiser and roles.may_organise(kok_irim.id) and not roles.may_organise(cholpon.id)
        assert not roles.admin and (await roles_of(session, 9001, frozenset({9001}))).admin
        assert await revoke(session, 2001, Role.ORGANISER, kok_irim.id)
        assert not (await roles_of(session, 2001)).organiser


async def test_registrations_by_village_count_women(db: Database) -> None:
    await registered(db, 1001, "+996700000001", "aral", "f")
    await registered(db, 1002, "+996700000002", "aral", "m")
    await registered(db, 1003, "+996700000003", "birdik", "f")
    async with db.session() as session:
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        rows = await people.registrations_by_village(session, kok_irim.id)
        counts = {c.village_id: (c.registered, c.women) for c in rows}
        aral = await session.scalar(select(Village.id).where(Village.code == "aral"))
        birdik = await session.scalar(select(Village.id).where(Village.code == "birdik"))
    assert counts == {aral: (2, 1), birdik: (1, 1)}


async def test_update_ids_are_claimed_once(db: Database) -> None:
    async with db.session() as session:
        session.add(ProcessedUpdate(update_id=42))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(ProcessedUpdate(update_id=42))


async def test_fsm_state_survives_a_new_storage(db: Database) -> None:
    key = StorageKey(bot_id=1, chat_id=1001, user_id=1001)
    storage = DatabaseStorage(db)
    await storage.set_state(key, "Registration:village")
    await storage.update_data(key, {"aiyl_aimak_id": 3})
    restarted = DatabaseStorage(db)
    assert await restarted.get_state(key) == "Registration:village"
    assert await restarted.get_data(key) == {"aiyl_aimak_id": 3}
    await restarted.set_state(key, None)
    await restarted.set_data(key, {})
    assert await restarted.get_state(key) is None and await restarted.get_data(key) == {}


async def test_concurrent_read_then_write_transactions_queue_up(db: Database) -> None:
    """Two updates that each read, then write, at the same time: both succeed, none fails with "database is
    locked". SQLite takes its write lock when the transaction begins, so they run one after the other and
    neither overwrites the other's change."""
    await registered(db, 1001, "+996700123456")

    async def rename(name: str) -> None:
        async with db.session() as session:
            person = await people.person_by_telegram_id(session, 1001)
            await asyncio.sleep(0.05)  # the other transaction reads in between
            person.first_name = (person.first_name or "") + name

    await asyncio.gather(rename("A"), rename("B"))
    async with db.session() as session:
        person = await people.person_by_telegram_id(session, 1001)
    if db.dialect == "sqlite":
        assert person.first_name in ("NameAB", "NameBA")
    else:  # READ COMMITTED: the later write wins, and both transactions commit
        assert person.first_name in ("NameAB", "NameBA", "NameA", "NameB")
