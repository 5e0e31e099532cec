"""Assisted participation on SQLite and PostgreSQL: a villager without a smartphone registered by a helper, a
ballot and an RSVP cast for them, marked and counted apart, and one vote when they later register themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services import people, voting
from services.assisted import (
    AssistError,
    assisted_answers,
    assisted_ballots,
    assisted_people,
    cast_assisted_ballot,
    register_assisted,
    respond_assisted,
)
from services.events import create_event, upcoming_for
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.roles import Role, grant, roles_of
from storage.db import Database
from storage.events import EventInvite
from storage.models import AuditEntry, Person, Village, utcnow
from storage.voting import Ballot

KEY = "0123456789abcdef-test-key"
ORGANISER, REPRESENTATIVE, STRANGER = 5101, 5102, 5103
PHONE = "0700 555 111"
BANDS = ["18-35", "36-55", "56+"]


async def setting(db: Database) -> dict[str, int]:
    """Көк-Ирим with an organiser and a village representative; Чолпон's organiser is a stranger there."""
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        kok_irim, cholpon = await find_aiyl_aimak(session, "kok-irim"), await find_aiyl_aimak(session, "cholpon")
        await grant(session, ORGANISER, Role.ORGANISER, kok_irim.id)
        await grant(session, REPRESENTATIVE, Role.REPRESENTATIVE, kok_irim.id)
        await grant(session, STRANGER, Role.ORGANISER, cholpon.id)
        ids = {code: vid for code, vid in (await session.execute(select(Village.code, Village.id))).all()}
        ids["kok-irim"] = kok_irim.id
        return ids


async def open_round(db: Database, aimak_id: int) -> tuple[int, list[int]]:
    async with db.session() as session:
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak_id, title="2026", created_by=ORGANISER,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=ORGANISER)
        problems = [(await voting.add_problem(session, rnd, title_ky=f"Көйгөй {i}", title_ru=f"Проблема {i}",
                                              by=ORGANISER)).id for i in range(3)]
        await voting.publish_ballot(session, rnd, by=ORGANISER)
        return rnd.id, problems


async def test_a_representative_registers_and_votes_for_a_villager_counted_once(db: Database) -> None:
    ids = await setting(db)
    round_id, problems = await open_round(db, ids["kok-irim"])
    async with db.session() as session:
        helper = await roles_of(session, REPRESENTATIVE)
        assert helper.may_assist(ids["kok-irim"]) and not helper.may_organise(ids["kok-irim"])
        person = await register_assisted(session, helper, key=KEY, raw_phone=PHONE, first_name="Бурул апа",
                                         village_id=ids["aral"], consent=True, sex="f", age_band="56+",
                                         bands=BANDS)
        person_id = person.id
        assert person.telegram_id is None and person.is_registered and person.registered_by == REPRESENTATIVE
        assert person.consent_at is not None and person.phone_tail == "11"
        assert [p.id for p in await assisted_people(session, helper, ids["kok-irim"])] == [person_id]
        rnd = await voting.get_round(session, round_id)
        first = await cast_assisted_ballot(session, helper, rnd, person_id, [problems[0], problems[1]])
        again = await cast_assisted_ballot(session, helper, rnd, person_id, [problems[2]])
    assert first.changed and again.version == 2 and again.ballot_id == first.ballot_id
    async with db.session() as session:
        ballots = (await session.scalars(select(Ballot).where(Ballot.round_id == round_id))).all()
        assert len(ballots) == 1 and ballots[0].assisted_by == REPRESENTATIVE and ballots[0].sex == "f"
        assert await assisted_ballots(session, round_id) == {ids["aral"]: 1}
        share = await voting.participation(session, round_id)
        assert share.village(ids["aral"]).people == 1 and share.assisted == {ids["aral"]: 1}
        tally = await voting.tally(session, round_id)
        assert tally.total() == {problems[2]: 1}  # the last confirmed ballot counts, once
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.actor_telegram_id
                                                                        == REPRESENTATIVE)
                                         .order_by(AuditEntry.id))).all()
        assert actions == ["person.assisted_register", "ballot.assisted", "ballot.assisted"]
        consent = await session.scalar(select(AuditEntry).where(AuditEntry.action == "person.assisted_register"))
        assert consent.detail["consent_by"] == REPRESENTATIVE and consent.detail["consent_at"]

    # She gets a phone and registers herself with the same number: the account joins her row, her ballot
    # stays hers, and her own vote replaces it (one person, one vote).
    async with db.session() as session:
        newcomer = await people.first_contact(session, 777001, "Бурул")
        newcomer_id = newcomer.id
        person = await people.set_phone(session, newcomer, KEY, "+996700555111")
        assert person.id == person_id and person.telegram_id == 777001
        assert await session.get(Person, newcomer_id) is None
    async with db.session() as session:
        person = await people.person_by_telegram_id(session, 777001)
        assert person is not None and person.id == person_id and person.is_registered
        rnd = await voting.get_round(session, round_id)
        own = await voting.cast_ballot(session, rnd, person, person.village_id, [problems[0]])
        assert own.ballot_id == first.ballot_id
        helper = await roles_of(session, REPRESENTATIVE)
        with pytest.raises(AssistError, match="self_registered"):
            await cast_assisted_ballot(session, helper, rnd, person_id, [problems[1]])
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 1
        assert (await voting.tally(session, round_id)).total() == {problems[0]: 1}
        joined = await session.scalar(select(AuditEntry).where(AuditEntry.action == "person.join_assisted"))
        assert joined is not None and joined.actor_telegram_id == 777001


async def test_assisted_rsvp_is_marked_and_counted_apart(db: Database) -> None:
    ids = await setting(db)
    async with db.session() as session:
        organiser = await roles_of(session, ORGANISER)
        person = await register_assisted(session, organiser, key=KEY, raw_phone=PHONE, first_name="Асан ата",
                                         village_id=ids["birdik"], consent=True)
        event = await create_event(session, roles=organiser, aiyl_aimak_id=ids["kok-irim"], kind="hearing",
                                   topic="Бюджет", agenda="", starts_at=utcnow() + timedelta(days=3),
                                   place="Клуб", village_ids=[], whole_aimak=True, reminder_minutes=[])
        assert [e.id for e in await upcoming_for(session, person)] == [event.id]
        assert await upcoming_for(session, person, now=event.starts_at) == []
        invite = await respond_assisted(session, organiser, event.id, person.id, "yes")
        assert invite.response == "yes" and invite.assisted_by == ORGANISER
        assert await assisted_answers(session, event.id) == {"yes": 1, "no": 0}
        rows = await session.scalar(select(func.count()).select_from(EventInvite))
        assert rows == 1


async def test_the_rules_of_assisted_participation(db: Database) -> None:
    ids = await setting(db)
    round_id, problems = await open_round(db, ids["kok-irim"])
    async with db.session() as session:
        stranger, helper = await roles_of(session, STRANGER), await roles_of(session, REPRESENTATIVE)
        villager = await roles_of(session, 999)
        common = {"key": KEY, "first_name": "Айша", "village_id": ids["aral"]}
        with pytest.raises(AssistError, match="not_allowed"):
            await register_assisted(session, stranger, raw_phone=PHONE, consent=True, **common)
        with pytest.raises(AssistError, match="not_allowed"):
            await register_assisted(session, villager, raw_phone=PHONE, consent=True, **common)
        with pytest.raises(AssistError, match="no_consent"):
            await register_assisted(session, helper, raw_phone=PHONE, consent=False, **common)
        with pytest.raises(AssistError, match="bad_phone"):
            await register_assisted(session, helper, raw_phone="12", consent=True, **common)
        person = await register_assisted(session, helper, raw_phone=PHONE, consent=True, **common)
        with pytest.raises(AssistError, match="already_registered"):
            await register_assisted(session, helper, raw_phone="+996 700 555 111", consent=True, **common)
        with pytest.raises(AssistError, match="not_allowed"):
            await assisted_people(session, stranger, ids["kok-irim"])
        rnd = await voting.get_round(session, round_id)
        with pytest.raises(AssistError, match="not_allowed"):
            await cast_assisted_ballot(session, stranger, rnd, person.id, problems[:1])
        # someone registered on their own phone is not voted for by anyone else
        own = await people.first_contact(session, 777002, "Own")
        await people.set_phone(session, own, KEY, "+996700000002")
        await people.set_village(session, own, ids["aral"])
        with pytest.raises(AssistError, match="unknown_person"):
            await cast_assisted_ballot(session, helper, rnd, own.id, problems[:1])
        with pytest.raises(AssistError, match="self_registered"):
            await register_assisted(session, helper, raw_phone="+996700000002", consent=True, **common)
        # a phone registered on one's own account stays someone else's for a newcomer
        other = await people.first_contact(session, 777003, "Other")
        with pytest.raises(people.RegistrationError, match="phone_taken"):
            await people.set_phone(session, other, KEY, "+996700000002")
