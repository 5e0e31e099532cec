"""Creating and reading events: who may announce, which events a person or an organiser sees."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.events.common import MAX_DOCUMENT_BYTES, Document, EventError
from services.events.rules import check_rule
from services.roles import Roles
from storage.events import EVENT_KINDS, Event, EventDocument, EventVillage
from storage.models import Person, Village, utcnow


async def create_event(session: AsyncSession, *, roles: Roles, aiyl_aimak_id: int, kind: str, topic: str,
                       agenda: str, starts_at: datetime, place: str, village_ids: list[int], whole_aimak: bool,
                       reminder_minutes: list[int], documents: list[Document] = (),  # type: ignore[assignment]
                       decision_rule: str = "present+chair", duration_minutes: int = 120) -> Event:
    """A new event of an aiyl aimak; only that aiyl aimak's organisers may create it."""
    if not roles.may_organise(aiyl_aimak_id):
        raise EventError("not_organiser")
    if kind not in EVENT_KINDS:
        raise EventError("bad_kind")
    check_rule(decision_rule)
    if not whole_aimak:
        villages = (await session.scalars(select(Village.id).where(Village.id.in_(village_ids),
                                                                   Village.aiyl_aimak_id == aiyl_aimak_id))).all()
        if not villages or len(set(villages)) != len(set(village_ids)):
            raise EventError("bad_villages")
    else:
        village_ids = list((await session.scalars(select(Village.id).where(
            Village.aiyl_aimak_id == aiyl_aimak_id))).all())
    if any(len(d.data) > MAX_DOCUMENT_BYTES or d.kind not in ("document", "photo") for d in documents):
        raise EventError("bad_document")
    event = Event(aiyl_aimak_id=aiyl_aimak_id, kind=kind, topic=topic.strip()[:300], agenda=agenda.strip(),
                  starts_at=starts_at, place=place.strip()[:300], whole_aimak=whole_aimak, status="announced",
                  version=1, reminder_minutes=list(reminder_minutes), decision_rule=decision_rule,
                  duration_minutes=duration_minutes, created_by=roles.telegram_id, announced_at=utcnow(),
                  accepted_proposals=[])
    event.villages = [EventVillage(village_id=v) for v in sorted(set(village_ids))]
    event.documents = [EventDocument(kind=d.kind, filename=d.filename[:255], data=d.data) for d in documents]
    session.add(event)
    await session.flush()
    audit(session, roles.telegram_id, "event.announce", "event", event.id, kind=kind,
          villages=sorted(set(village_ids)))
    return event


async def get_event(session: AsyncSession, event_id: int) -> Event | None:
    return await session.get(Event, event_id)


async def event_for_organiser(session: AsyncSession, event_id: int, roles: Roles) -> Event:
    """The event, if this organiser may manage it (organisers never see another aiyl aimak's events)."""
    event = await session.get(Event, event_id)
    if event is None or not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    return event


async def events_of(session: AsyncSession, aimak_ids: frozenset[int] | set[int], *, limit: int = 20) -> list[Event]:
    if not aimak_ids:
        return []
    query = (select(Event).where(Event.aiyl_aimak_id.in_(aimak_ids)).order_by(Event.starts_at.desc()).limit(limit))
    return list((await session.scalars(query)).all())


async def upcoming_for(session: AsyncSession, person: Person | None, *, now: datetime | None = None,
                       limit: int = 10) -> list[Event]:
    """Announced events of the person's village that have not started, soonest first (a villager's list)."""
    if person is None or not person.is_registered or person.village_id is None:
        return []
    now = now or utcnow()
    query = (select(Event).join(EventVillage, EventVillage.event_id == Event.id)
             .where(EventVillage.village_id == person.village_id, Event.status == "announced", Event.starts_at > now)
             .order_by(Event.starts_at).limit(limit))
    return list((await session.scalars(query)).unique().all())


def concerns(event: Event, person: Person | None) -> bool:
    """Does the event concern this person (registered in one of its villages)?"""
    return (person is not None and person.is_registered and person.village_id is not None
            and person.village_id in event.village_ids)
