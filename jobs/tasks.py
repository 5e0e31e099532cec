"""Runs the durable scheduled tasks of ``services.tasks``: claimed in the database, so each runs once however many
bot processes there are; a task missed by more than its grace (the bot was down) is dropped and logged.

    @task_handler("event.reminder")
    async def remind(app: App, payload: dict, *, run_at: datetime, now: datetime) -> None: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.resilience import Outage, is_transient
from services import tasks
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)

TaskHandler = Callable[..., Awaitable[None]]
HANDLERS: dict[str, TaskHandler] = {}
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=30)


def task_handler(kind: str) -> Callable[[TaskHandler], TaskHandler]:
    """Register ``async def handler(app, payload, *, run_at, now)`` for tasks of ``kind``."""

    def register(handler: TaskHandler) -> TaskHandler:
        if HANDLERS.get(kind, handler) is not handler:
            raise ValueError(f"a handler for task kind {kind!r} is already registered")
        HANDLERS[kind] = handler
        return handler

    return register


def worker_name(app: Any) -> str:
    """This process and application, as a claim owner."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{id(app) % 100000}"


async def run_due_tasks(app: App, now: datetime | None = None, worker: str | None = None) -> list[str]:
    """Claim the due tasks and run each once; returns the kinds of those whose handler ran, in order."""
    now = now or utcnow()
    worker = worker or worker_name(app)
    settings = app.settings
    async with app.db.session() as session:
        claimed = await tasks.claim_due(session, worker=worker, now=now,
                                        lease=timedelta(seconds=settings.task_lease_seconds))
    ran: list[str] = []
    for task in claimed:
        grace = timedelta(seconds=task.grace_seconds if task.grace_seconds is not None
                          else settings.task_grace_minutes * 60)
        handler = HANDLERS.get(task.kind)
        if now - task.run_at > grace:
            log.warning("task %s (%s) was due at %s, more than %s ago: dropped", task.key, task.kind,
                        task.run_at.isoformat(), grace)
            async with app.db.session() as session:
                await tasks.finish(session, task.id, worker=worker, status=tasks.TASK_DROPPED, now=now,
                                   error=f"missed by {now - task.run_at}")
            continue
        if handler is None:
            log.error("task %s: no handler for kind %r", task.key, task.kind)
            async with app.db.session() as session:
                await tasks.finish(session, task.id, worker=worker, status=tasks.TASK_FAILED, now=now,
                                   error=f"no handler for {task.kind}")
            continue
        try:
            await handler(app, dict(task.payload), run_at=task.run_at, now=now)
        except Exception as exc:  # noqa: BLE001 - one task's failure must not stop the others
            if is_transient(exc):
                _outage(app).failed(exc)  # one line for the outage, not a traceback a task
            else:
                log.exception("task %s (%s) failed", task.key, task.kind)
            async with app.db.session() as session:
                await tasks.retry(session, task.id, worker=worker, not_before=now + RETRY_AFTER * (task.attempts + 1),
                                  error=f"{type(exc).__name__}: {exc}", max_attempts=MAX_ATTEMPTS)
            continue
        ran.append(task.kind)
        async with app.db.session() as session:
            await tasks.finish(session, task.id, worker=worker, status=tasks.TASK_DONE, now=now)
    return ran


# --------------------------------------------------------------------------- in the background

_RUNNERS: dict[int, asyncio.Task[None]] = {}
_STOPPED: set[int] = set()
_OUTAGES: dict[int, Outage] = {}


async def kick_tasks(app: App) -> None:
    """The scheduled job: run the due tasks unless a run is still going in this process."""
    key = id(app)
    running = _RUNNERS.get(key)
    if key in _STOPPED or (running is not None and not running.done()):
        return
    _RUNNERS[key] = asyncio.create_task(_run_logged(app), name="task-runner")


def _outage(app: App) -> Outage:
    return _OUTAGES.setdefault(id(app), Outage(log, "scheduled tasks"))


async def _run_logged(app: App) -> None:
    try:
        await run_due_tasks(app)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        _outage(app).failed(exc)
    else:
        _outage(app).ok()
    finally:
        _RUNNERS.pop(id(app), None)


async def stop_tasks(app: App) -> None:
    """Stop running tasks in this process; a task cut short is run again when its lease ends."""
    key = id(app)
    _STOPPED.add(key)
    running = _RUNNERS.pop(key, None)
    if running is not None and not running.done():
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    _STOPPED.discard(key)


@contextlib.asynccontextmanager
async def tasks_held(app: App) -> AsyncIterator[None]:
    """This process's background runner finished (not cut short) and started by nobody for the block.

    For a caller that runs ``run_due_tasks`` itself with a clock of its own (the tests move time ahead): a lease
    the runner took at the real time has already run out at a later clock, so both would run the same task, and a
    run cut short would be run again at once. So a run under way is awaited."""
    key = id(app)
    _STOPPED.add(key)
    try:
        running = _RUNNERS.get(key)
        if running is not None and not running.done():
            with contextlib.suppress(asyncio.CancelledError):  # stopped meanwhile (stop_tasks): nothing runs either
                await asyncio.shield(running)
        yield
    finally:
        _STOPPED.discard(key)
