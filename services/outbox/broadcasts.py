"""A broadcast's progress and its report: counts, the progress message, the one final report."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.common import THROTTLED_NOTE, Progress
from storage.delivery import (
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNREACHABLE,
    Broadcast,
    OutboxMessage,
)


async def broadcast_progress(session: AsyncSession, broadcast_id: int) -> Progress:
    rows = (await session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )).all()
    counts = {status: int(n) for status, n in rows}
    throttled = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.last_error.startswith(THROTTLED_NOTE)))
    return Progress(
        throttled=int(throttled or 0),
        total=sum(counts.values()),
        sent=counts.get(SENT, 0),
        pending=counts.get(PENDING, 0) + counts.get(SENDING, 0),
        failed=counts.get(FAILED, 0),
        unreachable=counts.get(UNREACHABLE, 0),
        cancelled=counts.get(CANCELLED, 0),
    )


async def open_broadcasts(session: AsyncSession, limit: int = 50) -> list[Broadcast]:
    """Broadcasts whose final report is not out yet, oldest first."""
    query = select(Broadcast).where(Broadcast.finished_at.is_(None)).order_by(Broadcast.id).limit(limit)
    return list((await session.scalars(query)).all())


async def claim_progress(session: AsyncSession, broadcast_id: int, *, now: datetime, every: timedelta) -> bool:
    """One worker at a time updates a broadcast's progress message, at most once per ``every``."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None),
               or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every))
        .values(progress_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def finish_broadcast(session: AsyncSession, broadcast_id: int, *, now: datetime) -> bool:
    """Claim the final report of a broadcast, once all its messages are queued (True for exactly one caller)."""
    result = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None),
                                Broadcast.ready_at.is_not(None))
        .values(finished_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def progress_message(session: AsyncSession, broadcast_id: int) -> int | None:
    """The progress message to edit; None when the caller is the one to send it (placeholder 0 set for it)."""
    result = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.progress_message_id.is_(None))
        .values(progress_message_id=0).execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return None
    return await session.scalar(select(Broadcast.progress_message_id).where(Broadcast.id == broadcast_id)) or 0


async def set_progress_message(session: AsyncSession, broadcast_id: int, message_id: int) -> None:
    await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                          .values(progress_message_id=message_id).execution_options(synchronize_session=False))
