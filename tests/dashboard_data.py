"""Sample data for the dashboard tests, built through the services (as the chat would): the demo's Kök-Irim
round with phone ballots and a session, a hearing with answers and a question, a helpdesk question and FAQ
entry, and Cholpon with its own organiser, round, event and plan (the other side of the role wall)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.demo import DEMO_PHONE_KEY, seed
from bot.emulator import Emulator
from bot.emulator.driver import tiny_png
from bot.settings import Settings
from services import events, people, voting
from services import faq as faq_service
from services import helpdesk as desk
from services import plan as plans
from services.helpdesk_stats import month_bounds
from services.places import find_aiyl_aimak, list_villages
from services.roles import Role, grant, roles_of
from storage.db import Database
from storage.models import utcnow

ORGANISER, LAWYER, ADMIN = 2001, 3001, 9001
OTHER_ORGANISER = 2002  # Cholpon's


@dataclass
class Sample:
    kok_irim: int
    cholpon: int
    round_id: int
    other_round_id: int
    event_id: int
    other_event_id: int
    other_plan_id: int
    photo_answer_id: int  # Cholpon's monitoring answer with a photo
    problem_ids: list[int]  # Kök-Irim's, by votes (most first)


async def _villager(session, telegram_id: int, village_id: int, sex: str, band: str):  # noqa: ANN001, ANN202
    person = await people.first_contact(session, telegram_id, f"V{telegram_id}")
    person.language = "ky"
    await people.set_phone(session, person, DEMO_PHONE_KEY, f"+99670055{telegram_id % 10000:04d}")
    await people.set_village(session, person, village_id)
    await people.give_consent(session, person)
    await people.set_sex(session, person, sex)
    await people.set_age_band(session, person, band, ["18-35", "36-55", "56+"])
    return person


async def build(db: Database, emu: Emulator | None = None) -> Sample:
    await seed(db)  # places, the organiser, lawyer and admin, and the open Kök-Irim round
    async with db.session() as session:
        kok = await find_aiyl_aimak(session, "kok-irim")
        cholpon = await find_aiyl_aimak(session, "cholpon")
        assert kok is not None and cholpon is not None
        aral, birdik = await list_villages(session, kok.id)
        rnd = (await voting.rounds_of(session, [kok.id]))[0]
        problems = await voting.problems_of(session, rnd.id)
        # Phone ballots: roads and drinking water lead; the club roof and the school follow.
        choices = [[0, 2, 1], [0, 2, 3], [0, 1], [2, 0, 3], [0, 4], [2, 1, 5]]
        for index, picks in enumerate(choices):
            village = aral if index % 2 == 0 else birdik
            person = await _villager(session, 5000 + index, village.id, "f" if index % 3 else "m",
                                     ["18-35", "36-55", "56+"][index % 3])
            await voting.cast_ballot(session, rnd, person, village.id, [problems[i].id for i in picks])
        await voting.record_session(session, rnd, voting.SessionInput(
            village_id=aral.id, age_band="56+", held_on=date(2026, 11, 20), place="Клуб", participants=12, women=7,
            votes={problems[1].id: 9, problems[3].id: 6}), by=ORGANISER)

        roles = await roles_of(session, ORGANISER)
        event = await events.create_event(
            session, roles=roles, aiyl_aimak_id=kok.id, kind="hearing", topic="Бюджет 2027", agenda="1. Бюджет",
            starts_at=utcnow() + timedelta(days=10), place="Айыл өкмөтү", village_ids=[], whole_aimak=True,
            reminder_minutes=[1440])
        invited = [p for p in await events.recipients(session, event)]
        await events.invite(session, event, invited)
        for person in invited[:4]:
            await events.respond(session, event.id, person, "yes")
        await events.respond(session, event.id, invited[4], "no")
        await events.ask(session, event.id, invited[0], "Көпүрө качан курулат?")

        # The helpdesk: one question waiting, one FAQ entry.
        member = await people.person_by_telegram_id(session, 5000)
        assert member is not None
        config = desk.HelpdeskConfig.from_settings(Settings(_env_file=None))
        await desk.submit(session, member, topic="land", text="Жер үлүшү боюнча суроо", language="ky",
                          aiyl_aimak_id=kok.id, config=config)
        # The answered question was asked half an hour ago: in the first half hour of a month (Bishkek's clock),
        # that was last month, and the month's statistics would count one question. Keep both in this month.
        month_start = month_bounds(None, ZoneInfo("Asia/Bishkek"))[0]
        now = max(utcnow(), month_start + timedelta(minutes=31))
        done = await desk.submit(session, member, topic="budget", text="Бюджет боюнча суроо", language="ky",
                                 aiyl_aimak_id=kok.id, config=config, now=now - timedelta(minutes=30))
        await desk.claim(session, done.id, LAWYER, config=config, now=now - timedelta(minutes=20))
        await desk.answer(session, done.id, LAWYER, text="Жооп", config=config, now=now - timedelta(minutes=10))
        await desk.rate(session, done.id, member, 5, config=config, now=now)
        faq_service.add_entry(session, topic="land", language="ky", question="Жер үлүшүн кантип алса болот?",
                              answer="Айыл өкмөтүнө кайрылыңыз.", law_refs="Жер кодекси, 5-берене", by=LAWYER)

        # Cholpon: its own organiser, round (closed, with a plan) and event.
        await grant(session, OTHER_ORGANISER, Role.ORGANISER, cholpon.id)
        other_roles = await roles_of(session, OTHER_ORGANISER)
        cholpon_village = (await list_villages(session, cholpon.id))[0]
        other = await voting.create_round(session, aiyl_aimak_id=cholpon.id, title="Чолпон 2026",
                                          created_by=OTHER_ORGANISER)
        await voting.open_collection(session, other, by=OTHER_ORGANISER)
        road = await voting.add_problem(session, other, title_ky="Көпүрө", title_ru="Мост", by=OTHER_ORGANISER)
        await voting.publish_ballot(session, other, by=OTHER_ORGANISER)
        voter = await _villager(session, 6001, cholpon_village.id, "f", "18-35")
        await voting.cast_ballot(session, other, voter, cholpon_village.id, [road.id])
        await voting.close_round(session, other, by=OTHER_ORGANISER)
        plan = await plans.create_from_round(session, other_roles, other.id, by=OTHER_ORGANISER)
        zone = ZoneInfo("Asia/Bishkek")
        today = plans.local_day(utcnow(), zone)
        bridge = await plans.add_activity(session, plan, plans.ActivityInput(
            title="Көпүрө куруу", responsible_kind="aiyl_okmotu", starts_on=today - timedelta(days=60),
            due_on=today - timedelta(days=1), funding={"local_budget": 500000, "grant": 300000}),
            by=OTHER_ORGANISER, zone=zone)
        await plans.set_funding(session, bridge, "local_budget", spent=200000, by=OTHER_ORGANISER)
        monitors = await plans.group(session, plan, "monitoring")
        await plans.add_member(session, monitors, voter, by=OTHER_ORGANISER)
        occasion = await plans.open_occasion(session, bridge.id, utcnow() - timedelta(days=2))
        photo = emu.add_file(tiny_png(200, 150), "bridge.png") if emu is not None else None
        answer, _change = await plans.record_answer(session, occasion.id, voter, status="in_progress", percent=40,
                                                    comment="Тирөөчтөр коюлду", photo_file_id=photo)
        other_event = await events.create_event(
            session, roles=other_roles, aiyl_aimak_id=cholpon.id, kind="gathering", topic="Суу", agenda="",
            starts_at=utcnow() + timedelta(days=5), place="Мектеп", village_ids=[], whole_aimak=True,
            reminder_minutes=[])
        ranked = voting.ranking((await voting.tally(session, rnd.id)).total())
        return Sample(kok.id, cholpon.id, rnd.id, other.id, event.id, other_event.id, plan.id, answer.id,
                      [r.problem_id for r in ranked])
