"""Changes: moving the event or its place (a new version), cancelling it, and its reminders (durable tasks that
carry the start time they were made for)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import audit
from services.events.common import REMINDER_TASK, EventError
from services.roles import Roles
from storage.events import Event
from storage.models import utcnow


def reminder_key(event_id: int, minutes: int) -> str:
    return f"event:{event_id}:reminder:{minutes}"


async def schedule_reminders(session: AsyncSession, event: Event, *, now: datetime | None = None,
                             grace: timedelta | None = None) -> list[datetime]:
    """(Re)schedule the event's reminders; those whose time has passed are not scheduled. Each carries the
    start time it was made for."""
    now = now or utcnow()
    await tasks.cancel_prefix(session, f"event:{event.id}:reminder:")
    if event.status != "announced":
        return []
    planned = []
    for minutes in event.reminder_minutes:
        run_at = event.starts_at - timedelta(minutes=minutes)
        if run_at <= now:
            continue
        await tasks.schedule(session, kind=REMINDER_TASK, key=reminder_key(event.id, minutes), run_at=run_at,
                             payload={"event_id": event.id, "minutes": minutes,
                                      "starts_at": event.starts_at.isoformat()}, grace=grace)
        planned.append(run_at)
    return planned


async def set_reminders(session: AsyncSession, event: Event, roles: Roles, minutes: list[int], *,
                        now: datetime | None = None, grace: timedelta | None = None) -> list[datetime]:
    if not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    event.reminder_minutes = list(minutes)
    return await schedule_reminders(session, event, now=now, grace=grace)


async def change(session: AsyncSession, event: Event, roles: Roles, *, starts_at: datetime | None = None,
                 place: str | None = None, now: datetime | None = None,
                 grace: timedelta | None = None) -> Event:
    """Move the event or change its place: a new version, reminders moved to the new time."""
    if not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    if event.status != "announced":
        raise EventError("cancelled" if event.status == "cancelled" else "held")
    if starts_at is not None:
        event.starts_at = starts_at
    if place is not None and place.strip():
        event.place = place.strip()[:300]
    event.version += 1
    audit(session, roles.telegram_id, "event.change", "event", event.id, version=event.version,
          starts_at=event.starts_at.isoformat(), place=event.place)
    await schedule_reminders(session, event, now=now, grace=grace)
    return event


async def cancel(session: AsyncSession, event: Event, roles: Roles) -> Event:
    if not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    if event.status != "announced":
        raise EventError("cancelled" if event.status == "cancelled" else "held")
    event.status = "cancelled"
    event.cancelled_at = utcnow()
    event.version += 1
    await tasks.cancel_prefix(session, f"event:{event.id}:")
    audit(session, roles.telegram_id, "event.cancel", "event", event.id)
    return event
