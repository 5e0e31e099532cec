"""Conversation states (aiogram's FSM rows) as a session knows them: read at most once per transaction, written
once when the update's transaction ends, and only when they changed.

An update reads its person's state together with the person (``services.people.person_with_roles``), which puts
the row, or the fact that there is none, here (``known``). aiogram then reads and writes the state a few times
per update (``set_state``, ``update_data``, ``clear``); in the update's session those writes only change what is
known here and ``flush`` writes the end result before the commit: one upsert of the columns that changed, one
DELETE when the conversation ended, nothing when it is as it was. Outside an update each write goes at once.

Plain values, not ORM objects: a session keeps loaded objects only weakly, so an FSM row read with the person was
gone again by the time aiogram asked for it, and was read once more on every access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import direct
from storage.db import dialect_module
from storage.direct import Direct
from storage.models import FsmRecord, utcnow

Row = tuple[str | None, dict[str, Any]]  # state, data


@dataclass
class Known:
    """Per session: what the database holds for each key read (``None``: no row), what it should hold, and which
    columns changed; ``deferred`` while an update's transaction is open (writes wait for ``flush``)."""

    stored: dict[str, Row | None] = field(default_factory=dict)
    current: dict[str, Row | None] = field(default_factory=dict)
    changed: dict[str, set[str]] = field(default_factory=dict)
    deferred: bool = False


def known(session: AsyncSession) -> Known:
    found = session.info.get("jamaat_conversations")
    if found is None:
        found = session.info["jamaat_conversations"] = Known()
    return found


def remember(session: AsyncSession, key: str, row: Row | None) -> None:
    """What the database holds for ``key`` in this transaction, read elsewhere (with the person)."""
    table = known(session)
    table.stored[key] = table.current[key] = row


_READ = select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == bindparam("key"))


async def read(session: AsyncSession, key: str) -> Row | None:
    table = known(session)
    if key not in table.current:
        found = (await session.execute(_READ, {"key": key})).first()
        remember(session, key, (found[0], dict(found[1] or {})) if found is not None else None)
    return table.current[key]


async def write(session: AsyncSession, key: str, **values: Any) -> None:
    """Set ``state`` and/or ``data`` of ``key``; no state and no data is no row."""
    row = await read(session, key)
    state = values["state"] if "state" in values else (row[0] if row is not None else None)
    data = values["data"] if "data" in values else (dict(row[1]) if row is not None else {})
    new = None if state is None and not data else (state, data)
    if new == row:
        return
    table = known(session)
    table.current[key] = new
    table.changed.setdefault(key, set()).update(values)
    if not table.deferred:
        await flush(session)


# Statements on the table, not the mapped class: the ORM's DML path (bulk-insert machinery, cache keys of the
# values, session synchronisation) cost more than the statement itself, for a row no object maps in a session.
_TABLE = FsmRecord.__table__


def _upsert(dialect: Any) -> dict[tuple[str, ...], Direct]:
    insert = dialect.insert(_TABLE).values(key=bindparam("key"), state=bindparam("state"),
                                              data=bindparam("data"), updated_at=bindparam("now"))
    # Only the columns written now: a concurrent write of the other column is kept.
    return {columns: Direct(insert.on_conflict_do_update(
        index_elements=["key"],
        set_={**{name: insert.excluded[name] for name in columns}, "updated_at": insert.excluded.updated_at}))
        for columns in (("state",), ("data",), ("state", "data"))}


# Straight on the driver (``storage.direct``): an update that changes its state writes it once, at every step.
_UPSERT: dict[str, dict[tuple[str, ...], Direct]] = {}  # per dialect name, built on first use (``dialect_module``)
_DELETE = Direct(delete(_TABLE).where(_TABLE.c.key == bindparam("key")))


async def flush(session: AsyncSession) -> None:
    """Write what changed since the last flush: per key one statement, or none when it is back as it was."""
    table = known(session)
    changed, table.changed = table.changed, {}
    for key, columns in changed.items():
        row = table.current[key]
        if row == table.stored.get(key, ...):
            continue
        if row is None:
            await direct.rows(session, _DELETE, {"key": key})
        else:
            name = session.bind.dialect.name
            if name not in _UPSERT:
                _UPSERT[name] = _upsert(dialect_module(name))
            statement = _UPSERT[name][tuple(c for c in ("state", "data") if c in columns)]
            await direct.rows(session, statement, {"key": key, "state": row[0], "data": row[1], "now": utcnow()})
        table.stored[key] = row


async def forget(session: AsyncSession) -> None:
    """Rows were deleted behind this cache (erasure): write what is pending, then read afresh when asked."""
    await flush(session)
    table = known(session)
    table.stored.clear()
    table.current.clear()
