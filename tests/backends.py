"""Real back ends for tests: SQLite files, PostgreSQL schemas and Redis databases on this machine.

With CI=true a PostgreSQL or Redis test that cannot reach its server fails instead of being skipped."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.db import Database

POSTGRES_URL = os.environ.get("JAMAAT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("JAMAAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ("sqlite", "postgres")


def unavailable(what: str, reason: object) -> None:
    message = f"{what} is not reachable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a skipped {what} test is a failure)")
    pytest.skip(message)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh schema for one test, dropped afterwards, so runs never collide."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield schema
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


_SQLITE_TEMPLATE: dict[int, Path] = {}  # per process (an xdist worker): a database file with every migration applied


async def _sqlite_template() -> Path:
    """A SQLite file migrated once per process; each test gets a copy instead of running every migration again.
    The template is itself a fresh run of every migration, which tests/test_storage.py compares with the models."""
    path = _SQLITE_TEMPLATE.get(os.getpid())
    if path is None or not path.exists():
        folder = tempfile.mkdtemp(prefix="jamaat-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = Path(folder) / "template.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await db.upgrade()
        finally:
            await db.dispose()  # the last connection's close checkpoints the WAL into the file
        _SQLITE_TEMPLATE[os.getpid()] = path
    return path


@asynccontextmanager
async def database(backend: str, tmp_path: Path, *, upgrade: bool = True) -> AsyncIterator[Database]:
    if backend == "sqlite":
        target = tmp_path / "jamaat.db"
        if upgrade:
            shutil.copyfile(await _sqlite_template(), target)
        db = Database(f"sqlite+aiosqlite:///{target}")
        try:
            if upgrade:
                await db.upgrade()  # nothing to do on the copy: one query finds it at the scripts' heads
            yield db
        finally:
            await db.dispose()
        return
    async with postgres_schema() as schema:
        db = Database(POSTGRES_URL, schema=schema)
        try:
            if upgrade:
                await db.upgrade()
            yield db
        finally:
            await db.dispose()


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A unique key prefix on this machine's Redis; its keys are deleted afterwards."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, ConnectionError, RedisConnectionError, RedisTimeoutError) as exc:  # redis raises its own
        await client.aclose()
        unavailable("Redis", exc)
    prefix = f"jamaat-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
