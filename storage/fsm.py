"""aiogram FSM storage in the database: a conversation survives a restart without Redis.

Inside an update it uses the update's own session (``storage.db.current_session``), so the state is read in the
update's transaction and written with the rest of the update's work. The session middleware reads the state
together with the person (``services.people.person_with_roles``): the row, or the fact that there is none, is
then already in the session and reading it costs no statement. A write is one upsert (or one DELETE when the
conversation ends), which also settles two writers of the same key without a lock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from storage.db import Database, absent_fsm_keys
from storage.models import FsmRecord, utcnow


class DatabaseStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    @staticmethod
    async def _get(session: AsyncSession, built: str) -> FsmRecord | None:
        if built in absent_fsm_keys(session):
            return None
        record = await session.get(FsmRecord, built)
        if record is None:
            absent_fsm_keys(session).add(built)
        return record

    async def _record(self, key: StorageKey) -> FsmRecord | None:
        async with self.db.current_or_new_session() as session:
            return await self._get(session, self.key_builder.build(key))

    async def _write(self, key: StorageKey, **values: Any) -> None:
        async with self.db.current_or_new_session() as session:
            built = self.key_builder.build(key)
            record = await self._get(session, built)
            state = values["state"] if "state" in values else (record.state if record is not None else None)
            data = values["data"] if "data" in values else (dict(record.data) if record is not None else {})
            absent = absent_fsm_keys(session)
            if state is None and not data:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == built)
                                      .execution_options(synchronize_session=False))
                if record is not None:
                    session.expunge(record)
                absent.add(built)
                return
            now = utcnow()
            insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(FsmRecord)
            statement = insert.values(key=built, state=state, data=data, updated_at=now)
            # Only the columns written now: a concurrent write of the other column is kept.
            statement = statement.on_conflict_do_update(
                index_elements=["key"],
                set_={**{name: statement.excluded[name] for name in values}, "updated_at": now},
            )
            await session.execute(statement)
            absent.discard(built)
            if record is None:
                record = FsmRecord(key=built, state=state, data=data, updated_at=now)
                make_transient_to_detached(record)
                session.add(record)
            else:
                for name, value in (("state", state), ("data", data), ("updated_at", now)):
                    set_committed_value(record, name, value)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._record(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._record(key)
        return dict(record.data) if record else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""
