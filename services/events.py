"""Events (hearings, gatherings, kurultais, council sessions): who may announce, who is invited, answers,
questions, changes, reminders and the outcome. No aiogram here: texts are rendered by handlers and jobs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import RuleError, audit
from services.roles import Roles
from storage import db
from storage.db import Database
from storage.events import (
    EVENT_KINDS,
    Event,
    EventDecision,
    EventDocument,
    EventInvite,
    EventQuestion,
    EventVillage,
)
from storage.models import Person, UTCDateTime, Village, utcnow

REMINDER_TASK = "event.reminder"
DECISION_BASES = ("present", "cast")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class EventError(RuleError):
    """Something an event cannot do; ``code`` names it for the message shown."""


@dataclass(frozen=True)
class Document:
    kind: str  # document | photo
    filename: str
    data: bytes


@dataclass(frozen=True)
class Answers:
    invited: int
    coming: int
    not_coming: int
    no_answer: int
    questions: int
    # Of those coming: women, and those who did not say their sex (a group of their own, outside the share).
    coming_women: int = 0
    coming_not_said: int = 0

    @property
    def coming_women_share(self) -> float | None:
        said = self.coming - self.coming_not_said
        return self.coming_women / said if said > 0 else None


# --------------------------------------------------------------------------- parsing what organisers type

_DATE_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")


def parse_when(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """"25.12.2026 15:00" in the municipality's time zone → UTC. Must be in the future."""
    cleaned = re.sub(r"\s+", " ", text.strip().replace(",", " ")).replace(" :", ":")
    for pattern in _DATE_FORMATS:
        try:
            local = datetime.strptime(cleaned, pattern)
        except ValueError:
            continue
        moment = local.replace(tzinfo=zone).astimezone(UTC)
        if moment <= (now or utcnow()):
            raise EventError("past")
        return moment
    raise EventError("bad_date")


_LEAD = re.compile(r"^(\d+)\s*([dhm]|д|ч|м|к|с|k|s|min|мин)?$", re.IGNORECASE)  # к(үн), с(аат): Kyrgyz
_UNIT_MINUTES = {"d": 1440, "д": 1440, "k": 1440, "к": 1440, "h": 60, "ч": 60, "s": 60, "с": 60, "m": 1, "м": 1,
                 "min": 1, "мин": 1}


def parse_lead_times(text: str) -> list[int]:
    """Reminder lead times: "1d, 2h", "24h 30m", "1440 120" (plain numbers are minutes). Distinct, largest
    first; at most five; nothing ("0" or "-") means no reminders."""
    text = text.strip()
    if text in ("0", "-", "—"):
        return []
    minutes: set[int] = set()
    for part in re.split(r"[,;\s]+(?=\d)", text):
        part = part.strip().rstrip(",;")
        if not part:
            continue
        match = _LEAD.match(part)
        if not match:
            raise EventError("bad_lead_times")
        value = int(match.group(1)) * _UNIT_MINUTES.get((match.group(2) or "m").lower(), 1)
        if not 1 <= value <= 60 * 24 * 60:
            raise EventError("bad_lead_times")
        minutes.add(value)
    if not minutes or len(minutes) > 5:
        raise EventError("bad_lead_times")
    return sorted(minutes, reverse=True)


# --------------------------------------------------------------------------- creating and reading


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


async def invited_people(session: AsyncSession, event: Event, *, skip_declined: bool = False) -> list[Person]:
    """People invited to the event (still reachable by Telegram); without those who declined if asked."""
    query = (
        select(Person).join(EventInvite, EventInvite.person_id == Person.id)
        .where(EventInvite.event_id == event.id, Person.forgotten_at.is_(None), Person.telegram_id.is_not(None))
        .order_by(Person.id)
    )
    if skip_declined:
        query = query.where((EventInvite.response.is_(None)) | (EventInvite.response != "no"))
    return list((await session.scalars(query)).all())


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


# --------------------------------------------------------------------------- villagers' answers and questions


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


# --------------------------------------------------------------------------- changes and reminders


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


# --------------------------------------------------------------------------- the outcome


def check_rule(rule: str) -> tuple[str, bool]:
    base, _, tie = rule.partition("+")
    if base not in DECISION_BASES or tie not in ("", "chair"):
        raise EventError("bad_rule")
    return base, tie == "chair"


def is_tie(votes_for: int, votes_against: int) -> bool:
    return votes_for == votes_against


def decide(rule: str, votes_for: int, votes_against: int, abstained: int, present: int | None,
           chair_vote: str | None = None) -> bool:
    """Adopted or not under the event's rule. "present": more than half of those present voted for;
    "cast": more for than against. With "+chair", a tie (as many for as against) goes the chair's way."""
    base, chair_decides = check_rule(rule)
    if min(votes_for, votes_against, abstained) < 0:
        raise EventError("bad_votes")
    voted = votes_for + votes_against + abstained
    if present is not None and voted > present:
        raise EventError("more_votes_than_present")
    if chair_decides and is_tie(votes_for, votes_against) and chair_vote in ("for", "against"):
        return chair_vote == "for"
    if base == "present":
        return votes_for * 2 > (present if present is not None else voted)
    return votes_for > votes_against


@dataclass(frozen=True)
class DecisionInput:
    text: str
    votes_for: int
    votes_against: int
    abstained: int
    chair_vote: str | None = None


async def record_outcome(session: AsyncSession, event: Event, roles: Roles, *, attended: int, women: int,
                         minutes: str, decisions: list[DecisionInput], accepted_proposals: list[str]) -> Event:
    """Attendance (women counted separately), minutes, decisions with their votes, accepted proposals."""
    if not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    if event.status == "cancelled":
        raise EventError("cancelled")
    if attended < 0 or not 0 <= women <= attended:
        raise EventError("bad_attendance")
    event.attended, event.attended_women = attended, women
    event.minutes = minutes.strip()
    event.accepted_proposals = [p.strip() for p in accepted_proposals if p.strip()]
    event.decisions.clear()
    await session.flush()
    for position, item in enumerate(decisions, start=1):
        adopted = decide(event.decision_rule, item.votes_for, item.votes_against, item.abstained, attended,
                         item.chair_vote)
        event.decisions.append(EventDecision(
            position=position, text=item.text.strip(), votes_for=item.votes_for, votes_against=item.votes_against,
            abstained=item.abstained, chair_vote=item.chair_vote if is_tie(item.votes_for, item.votes_against)
            else None, adopted=adopted, detail={"rule": event.decision_rule}))
    event.status = "held"
    audit(session, roles.telegram_id, "event.outcome", "event", event.id, attended=attended, women=women,
          decisions=len(decisions))
    await session.flush()
    return event


# --------------------------------------------------------------------------- calendar file


def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a leading space (RFC 5545)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def ics(event: Event, *, summary: str, description: str, location: str, url: str | None = None,
        now: datetime | None = None) -> bytes:
    """An "add to calendar" file (iCalendar) for the event, in the reader's language."""
    stamp = (now or utcnow()).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    start = event.starts_at.astimezone(UTC)
    end = start + timedelta(minutes=event.duration_minutes or 120)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Jamaat//Events//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:event-{event.id}@jamaat",
        f"SEQUENCE:{event.version}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
        f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}",
        f"SUMMARY:{_ics_text(summary)}",
        f"LOCATION:{_ics_text(location)}",
        f"DESCRIPTION:{_ics_text(description)}",
    ]
    if url:
        lines.append(f"URL:{url}")
    if event.status == "cancelled":
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
