"""PostgreSQL connections in the pool: one that died while idle is replaced before it is used, without a ping
before every transaction (``storage.db._ping_when_idle``)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from tests.backends import POSTGRES_URL, postgres_schema

PID = text("SELECT pg_backend_pid()")


async def kill(pid: int) -> None:
    """What a restarted server or a firewall does to a quiet connection."""
    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def killed_after_use(db: Database) -> int:
    """The pool's connection, used a moment ago, killed by the server (and closed by now): its backend's pid."""
    async with db.session() as session:
        used = await session.scalar(PID)
    await kill(used)
    await asyncio.sleep(0.1)  # the server has closed it
    return used


async def test_a_connection_that_died_while_idle_is_replaced_before_use() -> None:
    async with postgres_schema() as schema:
        db = Database(POSTGRES_URL, schema=schema, idle_ping_s=0.2)
        try:
            async with db.session() as session:
                first = await session.scalar(PID)
            await kill(first)
            await asyncio.sleep(0.3)  # idle longer than idle_ping_s
            async with db.session() as session:
                assert await session.scalar(PID) != first  # a new connection, and no error
        finally:
            await db.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged_and_a_failure_replaces_the_pool() -> None:
    """No ping between transactions of a busy bot: a connection killed in between fails its next statement (the
    update is then handled again, ``bot.resilience``), and the pool's connections are replaced."""
    async with postgres_schema() as schema:
        db = Database(POSTGRES_URL, schema=schema)  # the default: pinged only after 10 s idle
        try:
            first = await killed_after_use(db)
            with pytest.raises(DBAPIError) as failed:
                async with db.session() as session:
                    await session.scalar(PID)
            assert failed.value.connection_invalidated
            async with db.session() as session:
                assert await session.scalar(PID) != first
        finally:
            await db.dispose()
