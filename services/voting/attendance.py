"""Who takes part in a round (eligible villagers, the recipients of its notices) and nobody counted twice:
the "did you take part in the meeting in your village?" answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.voting.common import VotingError, messages_villagers
from services.voting.frozen import _round_village_ids
from storage import db, direct
from storage.direct import Direct
from storage.models import Person, utcnow
from storage.voting import Attendance, Ballot, OfflineSession, RoundVillage, VotingRound

# Who takes part


def _eligible(round_id: int) -> Any:
    """Registered, phone-verified, reachable people living in one of the round's villages."""
    return (
        select(Person)
        .join(RoundVillage, and_(RoundVillage.village_id == Person.village_id, RoundVillage.round_id == round_id))
        .where(Person.registered_at.is_not(None), Person.forgotten_at.is_(None), Person.phone_hash.is_not(None),
               Person.telegram_id.is_not(None))
    )


def recipients(round_id: int, *, non_voters: bool = False, reachable: bool = True) -> Any:
    """The round's eligible people as a condition on ``Person`` (``non_voters``: those without a ballot who did
    not take part in their village's session;
    ``reachable``: not marked unreachable), for set-based queuing of notices."""
    conditions = [Person.village_id.in_(select(RoundVillage.village_id).where(RoundVillage.round_id == round_id)),
                  Person.registered_at.is_not(None), Person.forgotten_at.is_(None), Person.phone_hash.is_not(None),
                  Person.telegram_id.is_not(None)]
    if reachable:
        conditions.append(Person.unreachable_at.is_(None))
    if non_voters:  # nor those who said they took part in their village's session: they vote there
        conditions.append(Person.id.not_in(select(Ballot.person_id).where(Ballot.round_id == round_id)))
        conditions.append(Person.id.not_in(select(Attendance.person_id).where(Attendance.round_id == round_id,
                                                                              Attendance.attended.is_(True))))
    return and_(*conditions)


async def eligible_people(session: AsyncSession, round_id: int) -> list[Person]:
    return list((await session.scalars(_eligible(round_id).order_by(Person.id))).unique().all())


async def non_voters(session: AsyncSession, round_id: int) -> list[Person]:
    """Reachable villagers without a ballot, less those who said they took part in their village's session."""
    voted = select(Ballot.person_id).where(Ballot.round_id == round_id)
    attended = select(Attendance.person_id).where(Attendance.round_id == round_id, Attendance.attended.is_(True))
    query = (_eligible(round_id).where(Person.id.not_in(voted), Person.id.not_in(attended),
                                       Person.unreachable_at.is_(None)).order_by(Person.id))
    return list((await session.scalars(query)).unique().all())


async def villagers_to_message(session: AsyncSession, rnd: VotingRound, kind: str) -> list[Person]:
    """Who gets a round's villager notice (``kind``: collect, ballot, remind, dates or results): nobody in a
    sessions-only round; reminders and date changes only to those who have not voted."""
    if not messages_villagers(rnd):
        return []
    if kind in ("remind", "dates"):
        return await non_voters(session, rnd.id)
    return await eligible_people(session, rnd.id)


# Nobody counted twice


async def record_attendance(session: AsyncSession, rnd: VotingRound, person: Person, attended: bool,
                            now: datetime | None = None) -> bool:
    """The villager's answer to "did you take part in the meeting in your village?", asked once per round: the
    first answer stands (a database key keeps one). Returns the answer that stands. A villager who already voted
    is not asked (``ask_attendance``), and an answer from them is not recorded: their ballot stands."""
    await check_eligible(session, rnd, person)
    assert person.village_id is not None
    if await session.scalar(select(Ballot.id).where(Ballot.round_id == rnd.id, Ballot.person_id == person.id)):
        return bool(await attendance_of(session, rnd.id, person.id))
    insert = db.insert(session, Attendance).values(
        round_id=rnd.id, person_id=person.id, village_id=person.village_id, attended=attended,
        answered_at=now or utcnow()).on_conflict_do_nothing(index_elements=["round_id", "person_id"])
    if (await session.execute(insert)).rowcount:
        audit(session, person.telegram_id, "voting.attendance", "voting_round", rnd.id, attended=attended)
    return bool(await attendance_of(session, rnd.id, person.id))


# What /vote reads before it shows a ballot, straight on the driver (``storage.direct``), after any pending change.
_ATTENDED = Direct(select(Attendance.__table__.c.attended).where(
    Attendance.__table__.c.round_id == bindparam("round_id"),
    Attendance.__table__.c.person_id == bindparam("person_id")))
_SESSION_HELD = Direct(select(OfflineSession.__table__.c.id).where(
    OfflineSession.__table__.c.round_id == bindparam("round_id"),
    OfflineSession.__table__.c.village_id == bindparam("village_id")).limit(1))
_VOTED = Direct(select(Ballot.__table__.c.id).where(
    Ballot.__table__.c.round_id == bindparam("round_id"), Ballot.__table__.c.person_id == bindparam("person_id")))


async def attendance_of(session: AsyncSession, round_id: int, person_id: int) -> bool | None:
    """The answer given (None: not asked yet)."""
    found = await direct.rows(session, _ATTENDED, {"round_id": round_id, "person_id": person_id}, autoflush=True)
    return bool(found[0][0]) if found else None


def needs_attendance_question(rnd: VotingRound) -> bool:
    return (rnd.mode or "both") == "both"


async def ask_attendance(session: AsyncSession, rnd: VotingRound, person: Person) -> bool:
    """Whether the ballot first asks "did you take part in the meeting in your village?": in a round with both
    sources, once the village's session is on record (before that there was no meeting to have taken part in;
    the sheets are checked against the phone ballots when they are entered). Not of a villager who voted unasked:
    a ballot cast before the session was on record counts, and the session sheet must leave that person out (the
    organiser is told how many such ballots the village has: ``voting_results.double_count_checks``)."""
    if not needs_attendance_question(rnd) or person.village_id is None:
        return False
    if not await direct.rows(session, _SESSION_HELD, {"round_id": rnd.id, "village_id": person.village_id},
                             autoflush=True):
        return False
    if await attendance_of(session, rnd.id, person.id) is not None:
        return True  # answered: the answer stands
    return not await direct.rows(session, _VOTED, {"round_id": rnd.id, "person_id": person.id})


async def check_eligible(session: AsyncSession, rnd: VotingRound, person: Person | None) -> None:
    if person is None or not person.is_registered or person.phone_hash is None or person.village_id is None:
        raise VotingError("not_registered")
    if person.village_id not in await _round_village_ids(session, rnd):
        raise VotingError("not_in_round")
