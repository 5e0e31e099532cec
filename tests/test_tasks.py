"""Durable scheduled tasks: moved by key, run once across workers, kept over a restart, dropped past grace."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Jamaat
from bot.emulator import Emulator
from jobs.tasks import run_due_tasks, task_handler
from services import tasks
from storage.db import Database
from storage.models import utcnow
from tests.harness import Harness, harness_settings
from tests.test_outbox import two_databases

RAN: list[tuple[str, dict[str, Any], datetime]] = []
FAIL_TIMES: dict[str, int] = {}


@task_handler("test.record")
async def record(app: Jamaat, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    await asyncio.sleep(0.01)  # long enough for a second worker to try the same task
    RAN.append((payload["name"], payload, run_at))


@task_handler("test.flaky")
async def flaky(app: Jamaat, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    name = payload["name"]
    if FAIL_TIMES.get(name, 0) > 0:
        FAIL_TIMES[name] -= 1
        raise RuntimeError("not today")
    RAN.append((name, payload, run_at))


async def run_tasks(app: Jamaat, **kwargs: Any) -> int:
    """How many of this file's tasks ran: a started bot has tasks of its own (a clock past the 1st of a month
    also runs the helpdesk's monthly report)."""
    return sum(kind.startswith("test.") for kind in await run_due_tasks(app, **kwargs))


@pytest.fixture(autouse=True)
def clear() -> None:
    RAN.clear()
    FAIL_TIMES.clear()


async def apps_on(db: Database, emu: Emulator, count: int = 1) -> list[Jamaat]:
    return [Jamaat.create(harness_settings(emu, db), db=db) for _ in range(count)]


async def test_schedule_moves_and_cancels_by_key(db: Database) -> None:
    t0 = utcnow().replace(microsecond=0) + timedelta(days=1)
    async with Emulator() as emu:
        [app] = await apps_on(db, emu)
        try:
            async with db.session() as session:
                await tasks.schedule(session, kind="test.record", key="event:1:a", run_at=t0, payload={"name": "a"})
                await tasks.schedule(session, kind="test.record", key="event:1:b", run_at=t0, payload={"name": "b"})
                await tasks.schedule(session, kind="test.record", key="event:2:c", run_at=t0, payload={"name": "c"})
                # The event moved: the same key again moves the task.
                await tasks.schedule(session, kind="test.record", key="event:1:a", run_at=t0 + timedelta(hours=2),
                                     payload={"name": "a", "moved": True})
            async with db.session() as session:
                assert await tasks.cancel(session, "event:1:b")
                assert not await tasks.cancel(session, "event:1:b")
                assert not await tasks.cancel(session, "nothing")
            assert await run_tasks(app, now=t0 + timedelta(minutes=1)) == 1
            assert [r[0] for r in RAN] == ["c"]
            assert await run_tasks(app, now=t0 + timedelta(hours=2, minutes=1)) == 1
            assert RAN[-1][1] == {"name": "a", "moved": True} and RAN[-1][2] == t0 + timedelta(hours=2)
            # Scheduling a task that ran for the same time again does not run it again…
            async with db.session() as session:
                await tasks.schedule(session, kind="test.record", key="event:1:a", run_at=t0 + timedelta(hours=2),
                                     payload={"name": "a"})
            assert await run_tasks(app, now=t0 + timedelta(hours=2, minutes=2)) == 0
            # …for another time it does; cancel_prefix takes every pending task of an event.
            async with db.session() as session:
                await tasks.schedule(session, kind="test.record", key="event:1:a", run_at=t0 + timedelta(hours=5),
                                     payload={"name": "a"})
                await tasks.schedule(session, kind="test.record", key="event:1_x", run_at=t0 + timedelta(hours=5),
                                     payload={"name": "x"})
                assert await tasks.cancel_prefix(session, "event:1:") == 1  # "_" is no wildcard
            assert await run_tasks(app, now=t0 + timedelta(hours=6)) == 1
            assert RAN[-1][0] == "x"
        finally:
            await app.close()


async def test_a_task_runs_once_with_two_workers(backend: str, tmp_path: Path) -> None:
    t0 = utcnow() + timedelta(hours=1)
    async with two_databases(backend, tmp_path) as (db1, db2), Emulator() as emu:
        apps = (await apps_on(db1, emu)) + (await apps_on(db2, emu))
        try:
            async with db1.session() as session:
                for i in range(20):
                    await tasks.schedule(session, kind="test.record", key=f"t:{i}", run_at=t0, payload={"name": i})
            counts = await asyncio.gather(*(run_tasks(app, now=t0, worker=f"w{i}") for i, app in enumerate(apps)))
            counts += await asyncio.gather(*(run_tasks(app, now=t0, worker=f"w{i}") for i, app in enumerate(apps)))
            assert sum(counts) == 20
            assert sorted(r[0] for r in RAN) == list(range(20))
        finally:
            for app in apps:
                await app.close()


async def test_a_task_missed_beyond_its_grace_is_dropped_and_logged(db: Database, caplog) -> None:
    t0 = utcnow()
    async with Emulator() as emu:
        [app] = await apps_on(db, emu)
        try:
            async with db.session() as session:
                await tasks.schedule(session, kind="test.record", key="late", run_at=t0,
                                     payload={"name": "late"}, grace=timedelta(minutes=10))
                await tasks.schedule(session, kind="test.record", key="in-grace", run_at=t0,
                                     payload={"name": "in-grace"}, grace=timedelta(minutes=30))
            with caplog.at_level(logging.WARNING, logger="jobs.tasks"):
                assert await run_tasks(app, now=t0 + timedelta(minutes=20)) == 1
            assert [r[0] for r in RAN] == ["in-grace"]
            assert any("late" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)
            async with db.session() as session:
                assert (await tasks.get(session, "late")).status == "dropped"
        finally:
            await app.close()


async def test_a_failing_task_is_retried_then_given_up(db: Database) -> None:
    t0 = utcnow()
    FAIL_TIMES.update({"once": 1, "always": 99})
    async with Emulator() as emu:
        [app] = await apps_on(db, emu)
        try:
            async with db.session() as session:
                for name in ("once", "always"):
                    await tasks.schedule(session, kind="test.flaky", key=name, run_at=t0, payload={"name": name},
                                         grace=timedelta(hours=1))
            assert await run_tasks(app, now=t0) == 0
            assert await run_tasks(app, now=t0 + timedelta(seconds=10)) == 0  # waits before trying again
            assert await run_tasks(app, now=t0 + timedelta(seconds=31)) == 1
            assert await run_tasks(app, now=t0 + timedelta(minutes=2)) == 0
            async with db.session() as session:
                assert (await tasks.get(session, "always")).status == "failed"
            assert [r[0] for r in RAN] == ["once"]
        finally:
            await app.close()


async def test_a_task_survives_a_restart(bot: Harness) -> None:
    run_at = utcnow() + timedelta(days=1)
    async with bot.db.session() as session:
        await tasks.schedule(session, kind="test.record", key="after-restart", run_at=run_at,
                             payload={"name": "after-restart"})
    await bot.restart()
    assert bot.app is not None
    assert await run_tasks(bot.app, now=run_at - timedelta(seconds=1)) == 0
    assert await run_tasks(bot.app, now=run_at + timedelta(seconds=5)) == 1
    assert await run_tasks(bot.app, now=run_at + timedelta(seconds=10)) == 0
    assert [r[0] for r in RAN] == ["after-restart"]
