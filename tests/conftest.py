from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.backends import BACKENDS, database
from tests.harness import Harness, running_bot


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database(backend, tmp_path) as db:
        yield db


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Harness]:
    """The real bot on SQLite or PostgreSQL, talking to the Bot API emulator."""
    async with running_bot(db) as harness:
        yield harness
