"""Durable scheduled tasks: work to do once at a given time (a reminder), kept in the database.

A task survives restarts and runs once across processes (``jobs.tasks.run_due_tasks`` claims it). ``key`` names
the task (``event:12:reminder:1440``): scheduling the same key again moves it, so an event that moved just
reschedules its reminders. Handlers should be idempotent all the same (a worker that dies mid-task leaves it to
be run again when its lease ends); queuing messages with outbox dedupe keys makes that easy."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from storage.delivery import (
    TASK_CANCELLED,
    TASK_DONE,
    TASK_DROPPED,
    TASK_FAILED,
    TASK_PENDING,
    TASK_RUNNING,
    ScheduledTask,
)
from storage.models import utcnow

log = logging.getLogger(__name__)


async def schedule(session: AsyncSession, *, kind: str, key: str, run_at: datetime, payload: dict[str, Any],
                   grace: timedelta | None = None) -> None:
    """Schedule ``kind`` to run at ``run_at`` with ``payload``; ``grace`` is how late it may still run
    (None: the settings' default). The same key again replaces the task: at another time it is pending again
    (even if it ran); at the same time a task that already ran or is running is left alone."""
    if run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    if len(key) > 200:
        raise ValueError("key is longer than 200 characters")
    table = ScheduledTask.__table__
    grace_seconds = int(grace.total_seconds()) if grace is not None else None
    insert = db.insert(session, table)
    insert = insert.values(key=key, kind=kind, run_at=run_at, payload=payload, grace_seconds=grace_seconds,
                           status=TASK_PENDING, attempts=0, created_at=utcnow())
    excluded = insert.excluded
    same_time = table.c.run_at == excluded.run_at
    keep = and_(same_time, table.c.status.in_((TASK_DONE, TASK_DROPPED, TASK_RUNNING)))
    await session.execute(insert.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "kind": excluded.kind,
            "payload": excluded.payload,
            "grace_seconds": excluded.grace_seconds,
            "status": case((keep, table.c.status), else_=TASK_PENDING),
            "attempts": case((keep, table.c.attempts), else_=0),
            "claimed_by": case((keep, table.c.claimed_by), else_=None),
            "claimed_until": case((keep, table.c.claimed_until), else_=None),
            "finished_at": case((keep, table.c.finished_at), else_=None),
            "run_at": excluded.run_at,
        },
    ))


async def cancel(session: AsyncSession, key: str) -> bool:
    """Cancel a task that has not run; False when there was none."""
    result = await session.execute(
        update(ScheduledTask).where(ScheduledTask.key == key, ScheduledTask.status == TASK_PENDING)
        .values(status=TASK_CANCELLED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def cancel_prefix(session: AsyncSession, prefix: str) -> int:
    """Cancel every pending task whose key starts with ``prefix`` (``event:12:``); returns how many."""
    if not prefix:
        raise ValueError("an empty prefix would cancel everything")
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.key.startswith(prefix, autoescape=True), ScheduledTask.status == TASK_PENDING)
        .values(status=TASK_CANCELLED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def get(session: AsyncSession, key: str) -> ScheduledTask | None:
    return await session.scalar(select(ScheduledTask).where(ScheduledTask.key == key))


# --------------------------------------------------------------------------- the runner's side


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    key: str
    kind: str
    run_at: datetime
    payload: dict[str, Any]
    grace_seconds: int | None
    attempts: int


def _due(now: datetime) -> Any:
    task = ScheduledTask
    return and_(
        or_(task.status == TASK_PENDING, and_(task.status == TASK_RUNNING, task.claimed_until < now)),
        task.run_at <= now,
        or_(task.claimed_until.is_(None), task.claimed_until < now),
    )


async def claim_due(session: AsyncSession, *, worker: str, now: datetime, lease: timedelta,
                    limit: int = 50) -> list[ClaimedTask]:
    """Claim due tasks: ``running`` by ``worker`` until ``now + lease``. A task whose worker died is due again
    when its lease ends."""
    task = ScheduledTask
    candidates = select(task.id).where(_due(now)).order_by(task.run_at, task.id).limit(limit)
    values = {"status": TASK_RUNNING, "claimed_by": worker, "claimed_until": now + lease}
    if db.dialect(session) == "postgresql":
        ids = list((await session.scalars(candidates.with_for_update(skip_locked=True))).all())
        if ids:
            await session.execute(update(task).where(task.id.in_(ids)).values(**values)
                                  .execution_options(synchronize_session=False))
    else:
        ids = []
        for candidate in (await session.scalars(candidates)).all():
            result = await session.execute(update(task).where(task.id == candidate, _due(now)).values(**values)
                                           .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                ids.append(candidate)
    if not ids:
        return []
    rows = (await session.execute(
        select(task.id, task.key, task.kind, task.run_at, task.payload, task.grace_seconds, task.attempts)
        .where(task.id.in_(ids)).order_by(task.run_at, task.id)
    )).all()
    return [ClaimedTask(*row) for row in rows]


async def finish(session: AsyncSession, task_id: int, *, worker: str, status: str, now: datetime,
                 error: str | None = None) -> bool:
    """Record the end of a run (done, dropped, failed). False when the task was moved while it ran: it is
    pending again at its new time and stays so."""
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.id == task_id, ScheduledTask.claimed_by == worker, ScheduledTask.status == TASK_RUNNING)
        .values(status=status, finished_at=now, claimed_by=None, claimed_until=None,
                last_error=(error or "")[:500] or None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def retry(session: AsyncSession, task_id: int, *, worker: str, not_before: datetime, error: str,
                max_attempts: int) -> str:
    """A run that raised: pending again after a pause (the claim is the pause), or failed after the last try."""
    attempts = (await session.scalar(select(ScheduledTask.attempts).where(ScheduledTask.id == task_id)) or 0) + 1
    status = TASK_FAILED if attempts >= max_attempts else TASK_PENDING
    await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.id == task_id, ScheduledTask.claimed_by == worker, ScheduledTask.status == TASK_RUNNING)
        .values(status=status, attempts=attempts, claimed_by=None, claimed_until=not_before, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )
    return status


__all__ = ["schedule", "cancel", "cancel_prefix", "get", "claim_due", "finish", "retry", "ClaimedTask",
           "TASK_DONE", "TASK_DROPPED", "TASK_FAILED"]
