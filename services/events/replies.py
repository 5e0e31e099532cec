"""Villagers' answers (coming or not) and their questions or proposals before the event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.audience import invite
from services.events.common import EventError
from services.events.records import concerns
from storage.events import Event, EventInvite, EventQuestion
from storage.models import Person, utcnow


def _open_for_answers(event: Event, now: datetime) -> None:
    if event.status == "cancelled":
        raise EventError("cancelled")
    if event.starts_at <= now:
        raise EventError("started")


async def respond(session: AsyncSession, event_id: int, person: Person | None, response: str,
                  now: datetime | None = None) -> EventInvite:
    """"yes" (I will come) or "no" (I can't come); a villager may change their mind until the start."""
    if response not in ("yes", "no"):
        raise EventError("bad_response")
    event = await session.get(Event, event_id)
    if event is None:
        raise EventError("unknown_event")
    now = now or utcnow()
    _open_for_answers(event, now)
    if person is None:
        raise EventError("not_concerned")
    invite_row = await session.scalar(select(EventInvite).where(EventInvite.event_id == event_id,
                                                                EventInvite.person_id == person.id))
    if invite_row is None:  # a villager of the place who registered after the notice went out
        if not concerns(event, person):
            raise EventError("not_concerned")
        await invite(session, event, [person])
        invite_row = await session.scalar(select(EventInvite).where(EventInvite.event_id == event_id,
                                                                    EventInvite.person_id == person.id))
        assert invite_row is not None
    invite_row.response = response
    invite_row.responded_at = now
    await session.flush()
    return invite_row


async def response_of(session: AsyncSession, event_id: int, person: Person | None) -> str | None:
    if person is None:
        return None
    return await session.scalar(select(EventInvite.response).where(EventInvite.event_id == event_id,
                                                                   EventInvite.person_id == person.id))


async def ask(session: AsyncSession, event_id: int, person: Person | None, text: str,
              now: datetime | None = None) -> EventQuestion:
    """A question or proposal before the event, for the organiser."""
    event = await session.get(Event, event_id)
    if event is None:
        raise EventError("unknown_event")
    _open_for_answers(event, now or utcnow())
    if person is None or not concerns(event, person):
        invited = person is not None and await session.scalar(select(EventInvite.id).where(
            EventInvite.event_id == event_id, EventInvite.person_id == person.id))
        if not invited:
            raise EventError("not_concerned")
    text = text.strip()
    if not text:
        raise EventError("empty")
    question = EventQuestion(event_id=event_id, person_id=person.id if person else None, text=text[:4000])
    session.add(question)
    await session.flush()
    return question


async def questions(session: AsyncSession, event: Event) -> list[EventQuestion]:
    query = select(EventQuestion).where(EventQuestion.event_id == event.id).order_by(EventQuestion.id)
    return list((await session.scalars(query)).all())
