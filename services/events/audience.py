"""Who is invited: the recipients of an event's notice (as conditions, for set-based queuing), the invitations
and the count of their answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.common import Answers
from storage import db
from storage.db import Database
from storage.events import Event, EventInvite, EventQuestion
from storage.models import Person, UTCDateTime, utcnow


def recipient_condition(event: Event) -> Any:
    """Registered villagers of the event's villages who can be written to (a condition on ``Person``)."""
    return and_(Person.village_id.in_(event.village_ids), Person.registered_at.is_not(None),
                Person.forgotten_at.is_(None), Person.telegram_id.is_not(None))


async def recipients(session: AsyncSession, event: Event) -> list[Person]:
    """Registered villagers of the event's villages who can be written to."""
    return list((await session.scalars(select(Person).where(recipient_condition(event)).order_by(Person.id))).all())


async def count_recipients(session: AsyncSession, event: Event) -> int:
    return int(await session.scalar(select(func.count(Person.id)).where(recipient_condition(event))) or 0)


async def invite(session: AsyncSession, event: Event, people: list[Person]) -> None:
    """Record who the notice goes to (once each); follow-ups and reminders go to the same people."""
    table = EventInvite.__table__
    now = utcnow()
    for start in range(0, len(people), 500):
        rows = [{"event_id": event.id, "person_id": p.id, "invited_at": now} for p in people[start:start + 500]]
        await session.execute(db.insert(session, table).values(rows).on_conflict_do_nothing(
            index_elements=["event_id", "person_id"]))


async def invite_recipients(database: Database, event: Event, *, chunk: int = 5000) -> int:
    """``invite`` for every recipient without holding them in memory: set-based ``INSERT … SELECT`` in committed
    chunks of people (running it again invites nobody twice). Returns how many were invited now."""
    table = EventInvite.__table__
    invited, after = 0, 0
    while True:
        async with database.session() as session:
            window = (select(Person.id).where(recipient_condition(event), Person.id > after).order_by(Person.id)
                      .limit(chunk))
            upto = await session.scalar(select(func.max(window.subquery().c.id)))
            if upto is None:
                return invited
            rows = select(literal(event.id, Integer), Person.id, literal(utcnow(), UTCDateTime())).where(
                recipient_condition(event), Person.id > after, Person.id <= upto)
            result = await session.execute(
                db.insert(session, table).from_select(["event_id", "person_id", "invited_at"], rows)
                .on_conflict_do_nothing(index_elements=["event_id", "person_id"]))
            invited += max(int(result.rowcount or 0), 0)
        after = upto


def invited_condition(event_id: int) -> Any:
    """The people invited to an event, as a SELECT of ``Person.id`` (for ``outbox.enqueue_to_people``)."""
    return select(EventInvite.person_id).where(EventInvite.event_id == event_id)


async def answers(session: AsyncSession, event: Event) -> Answers:
    rows = {response or "-": n for response, n in (await session.execute(
        select(EventInvite.response, func.count()).where(EventInvite.event_id == event.id)
        .group_by(EventInvite.response)
    )).all()}
    questions = await session.scalar(select(func.count()).where(EventQuestion.event_id == event.id)) or 0
    yes, no, none = int(rows.get("yes", 0)), int(rows.get("no", 0)), int(rows.get("-", 0))
    sexes = {sex: int(n) for sex, n in (await session.execute(
        select(Person.sex, func.count()).join(EventInvite, EventInvite.person_id == Person.id)
        .where(EventInvite.event_id == event.id, EventInvite.response == "yes").group_by(Person.sex))).all()}
    return Answers(invited=yes + no + none, coming=yes, not_coming=no, no_answer=none, questions=int(questions),
                   coming_women=sexes.get("f", 0), coming_not_said=yes - sexes.get("f", 0) - sexes.get("m", 0))


def invited(event_id: int, *, skip_declined: bool = False) -> Any:
    """The people invited to an event who can still be written to, as a condition on ``Person`` (for
    ``outbox.enqueue_to_people``: follow-ups, reminders and the outcome); without those who declined if asked."""
    invites = select(EventInvite.person_id).where(EventInvite.event_id == event_id)
    if skip_declined:
        invites = invites.where((EventInvite.response.is_(None)) | (EventInvite.response != "no"))
    return and_(Person.id.in_(invites), Person.forgotten_at.is_(None), Person.telegram_id.is_not(None))


async def count_invited(session: AsyncSession, event_id: int) -> int:
    """How many a follow-up of the event reaches (``invited``)."""
    return int(await session.scalar(select(func.count(Person.id)).where(invited(event_id))) or 0)
