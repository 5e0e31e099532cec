"""aiogram FSM storage in the database: a conversation survives a restart without Redis.

Inside an update it uses the update's own session (``storage.db.current_session``), so the state is read in the
update's transaction and written with the rest of the update's work. The session middleware reads the state
together with the person (``services.people.person_with_roles``) and ``storage.conversation`` keeps it, so
reading it again costs no statement; the writes of an update become one upsert (or one DELETE when the
conversation ends, nothing when it ended as it began) just before the commit, which also settles two writers of
the same key without a lock."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from storage import conversation
from storage.db import Database


class DatabaseStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def _row(self, key: StorageKey) -> conversation.Row | None:
        async with self.db.current_or_new_session() as session:
            return await conversation.read(session, self.key_builder.build(key))

    async def _write(self, key: StorageKey, **values: Any) -> None:
        async with self.db.current_or_new_session() as session:
            await conversation.write(session, self.key_builder.build(key), **values)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._row(key)
        return row[0] if row is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._row(key)
        # A copy the handler may change in place (nested lists too) without changing what is known stored.
        return copy.deepcopy(row[1]) if row is not None else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""
