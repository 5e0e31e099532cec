"""Assisted participation: an organiser or village representative registers a villager who has no smartphone,
by phone number and with their consent, and votes or answers an invitation on their behalf.

The phone's keyed hash is the person: whoever registers that number later joins the same row
(``services.people.set_phone``), so a ballot cast for them still counts once. Every assisted act is in the
audit trail and marked on its row (``assisted_by``), counted apart in the results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import events, voting
from services.audit import RuleError, audit
from services.people import SEXES
from services.phone import InvalidPhone, phone_hash, phone_tail
from services.roles import Roles
from storage.events import EventInvite
from storage.models import Person, Village, utcnow
from storage.voting import Ballot, VotingRound


class AssistError(RuleError):
    """not_allowed | no_consent | bad_phone | already_registered | self_registered | unknown_person |
    unknown_village | unknown_sex | unknown_age_band"""


async def register_assisted(session: AsyncSession, roles: Roles, *, key: str, raw_phone: str, first_name: str,
                            village_id: int, consent: bool, sex: str | None = None, age_band: str | None = None,
                            bands: Sequence[str] = (), now: datetime | None = None) -> Person:
    """A villager without a smartphone, registered by the person holding ``roles`` who read them the consent
    text and heard them agree (``consent``: recorded with who and when)."""
    now = now or utcnow()
    village = await session.get(Village, village_id)
    if village is None:
        raise AssistError("unknown_village")
    if not roles.may_assist(village.aiyl_aimak_id):
        raise AssistError("not_allowed")
    if not consent:
        raise AssistError("no_consent")
    if sex is not None and sex not in SEXES:
        raise AssistError("unknown_sex")
    if age_band is not None and age_band not in bands:
        raise AssistError("unknown_age_band")
    try:
        hashed, tail = phone_hash(key, raw_phone), phone_tail(raw_phone)
    except InvalidPhone:
        raise AssistError("bad_phone") from None
    existing = await session.scalar(select(Person).where(Person.phone_hash == hashed))
    if existing is not None:
        raise AssistError("self_registered" if existing.telegram_id is not None else "already_registered",
                          person_id=existing.id)
    person = Person(telegram_id=None, first_name=first_name.strip()[:200] or None, phone_hash=hashed,
                    phone_tail=tail, village_id=village.id, aiyl_aimak_id=village.aiyl_aimak_id, sex=sex,
                    age_band=age_band, consent_at=now, registered_at=now, registered_by=roles.telegram_id)
    session.add(person)
    await session.flush()  # the unique phone hash refuses a second registration made at the same moment
    audit(session, roles.telegram_id, "person.assisted_register", "person", person.id, village=village.id,
          consent_at=now.isoformat(), consent_by=roles.telegram_id)
    return person


async def assisted_people(session: AsyncSession, roles: Roles, aiyl_aimak_id: int) -> list[Person]:
    """The people registered with help in an aiyl aimak who still have no account of their own."""
    if not roles.may_assist(aiyl_aimak_id):
        raise AssistError("not_allowed")
    query = (select(Person).where(Person.aiyl_aimak_id == aiyl_aimak_id, Person.registered_by.is_not(None),
                                  Person.telegram_id.is_(None), Person.forgotten_at.is_(None))
             .order_by(Person.first_name, Person.id))
    return list((await session.scalars(query)).all())


async def assisted_person(session: AsyncSession, roles: Roles, person_id: int) -> Person:
    """A person the holder of ``roles`` may act for: registered with help, without an account of their own
    (once they have one they vote themselves), in an aiyl aimak the holder assists in."""
    person = await session.get(Person, person_id)
    if person is None or person.forgotten_at is not None or person.registered_by is None:
        raise AssistError("unknown_person")
    if person.telegram_id is not None:
        raise AssistError("self_registered", person_id=person.id)
    if not roles.may_assist(person.aiyl_aimak_id):
        raise AssistError("not_allowed")
    return person


async def cast_assisted_ballot(session: AsyncSession, roles: Roles, rnd: VotingRound | None, person_id: int,
                               problem_ids: Sequence[int], now: datetime | None = None) -> voting.CastResult:
    """The villager's ballot, cast by the helper as the villager said; the same rules as any ballot (one per
    person and round, the last confirmed counts), marked assisted."""
    person = await assisted_person(session, roles, person_id)
    assert person.village_id is not None
    result = await voting.cast_ballot(session, rnd, person, person.village_id, problem_ids, now)
    await session.execute(update(Ballot).where(Ballot.id == result.ballot_id).values(assisted_by=roles.telegram_id))
    assert rnd is not None
    audit(session, roles.telegram_id, "ballot.assisted", "person", person.id, round=rnd.id,
          ballot=result.ballot_id, version=result.version, changed=result.changed)
    return result


async def respond_assisted(session: AsyncSession, roles: Roles, event_id: int, person_id: int, response: str,
                           now: datetime | None = None) -> EventInvite:
    """The villager's answer to an invitation ("yes" / "no"), given by the helper, marked assisted."""
    person = await assisted_person(session, roles, person_id)
    invite = await events.respond(session, event_id, person, response, now)
    invite.assisted_by = roles.telegram_id
    audit(session, roles.telegram_id, "event.assisted_response", "person", person.id, event=event_id,
          response=response)
    await session.flush()
    return invite


async def assisted_ballots(session: AsyncSession, round_id: int) -> dict[int, int]:
    """Ballots of a round cast with help, per village (already inside the totals; shown apart)."""
    query = (select(Ballot.village_id, func.count()).where(Ballot.round_id == round_id,
                                                           Ballot.assisted_by.is_not(None))
             .group_by(Ballot.village_id))
    return {village_id: int(n) for village_id, n in (await session.execute(query)).all()}


async def assisted_answers(session: AsyncSession, event_id: int) -> dict[str, int]:
    """Answers to an invitation given with help: {"yes": n, "no": n}."""
    query = (select(EventInvite.response, func.count()).where(EventInvite.event_id == event_id,
                                                               EventInvite.assisted_by.is_not(None),
                                                               EventInvite.response.is_not(None))
             .group_by(EventInvite.response))
    answers = {"yes": 0, "no": 0}
    answers.update({response: int(n) for response, n in (await session.execute(query)).all()})
    return answers
