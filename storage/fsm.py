"""aiogram FSM storage in the database: a conversation survives a restart without Redis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import inspect

from storage.db import Database
from storage.models import FsmRecord


class DatabaseStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def _record(self, key: StorageKey) -> FsmRecord | None:
        async with self.db.current_or_new_session() as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def _write(self, key: StorageKey, **values: Any) -> None:
        async with self.db.current_or_new_session() as session:
            built = self.key_builder.build(key)
            record = await session.get(FsmRecord, built, with_for_update=self.db.dialect == "postgresql")
            if record is None:
                record = FsmRecord(key=built, state=None, data={})
            for name, value in values.items():
                setattr(record, name, value)
            if record.state is not None or record.data:
                session.add(record)
            elif inspect(record).persistent:
                await session.delete(record)

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
