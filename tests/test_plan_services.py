"""Joint action plan rules and the monitoring report, on SQLite and PostgreSQL, against hand-computed numbers."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services import plan as plans
from services import plan_report, voting
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.plan import ActivityInput, PlanError
from services.roles import Roles
from services.voting import SessionInput
from storage.db import Database
from storage.delivery import ScheduledTask
from storage.models import Person, Village, utcnow
from storage.plan import Plan

ZONE = ZoneInfo("Asia/Bishkek")
# One session's protocol (problem gallery, votes), from a municipality.
PROTOCOL = [
    ("Ички жолдор", "Внутренние дороги", 12),
    ("Клубдун чатыры", "Крыша клуба", 12),
    ("Ичүүчү суу", "Питьевая вода", 10),
    ("Мектептин абалы", "Состояние школы", 10),
    ("Сугат суусу", "Поливная вода", 9),
    ("Бала бакча жок", "Нет детского сада", 6),
    ("Көчө жарыгы жок", "Нет уличного освещения", 6),
]


def english(message: str) -> str:
    return message


async def aimak_ids(db: Database) -> dict[str, int]:
    async with db.session() as session:
        if await find_aiyl_aimak(session, "kok-irim") is None:
            await import_places(session, SAMPLE_PLACES)
        return {code: (await find_aiyl_aimak(session, code)).id for code in ("kok-irim", "cholpon")}


async def closed_round(db: Database, organiser: int = 5001) -> tuple[int, int]:
    """A closed round of Көк-Ирим whose offline session in Арал gave the protocol's votes: (round id, aimak id)."""
    aimak_id = (await aimak_ids(db))["kok-irim"]
    async with db.session() as session:
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak_id, title="ЖМБА 2026", created_by=organiser)
        await voting.open_collection(session, rnd, by=organiser)
        problems = [(await voting.add_problem(session, rnd, title_ky=ky, title_ru=ru, by=organiser)).id
                    for ky, ru, _votes in PROTOCOL]
        await voting.publish_ballot(session, rnd, by=organiser)
        aral = await session.scalar(select(Village.id).where(Village.code == "aral"))
        await voting.record_session(session, rnd, SessionInput(
            village_id=aral, age_band="18-35", held_on=date(2026, 3, 12), place="Школа №1", participants=20, women=9,
            votes={pid: votes for pid, (_ky, _ru, votes) in zip(problems, PROTOCOL, strict=True)}), by=organiser)
        await voting.close_round(session, rnd, by=organiser)
        return rnd.id, aimak_id


async def add_person(db: Database, telegram_id: int, village_code: str = "aral", sex: str | None = None,
                     band: str | None = None, *, language: str = "en", name: str | None = None) -> int:
    async with db.session() as session:
        village = await session.scalar(select(Village).where(Village.code == village_code))
        person = Person(telegram_id=telegram_id, first_name=name or f"V{telegram_id}", language=language,
                        phone_hash=f"hash-{telegram_id}", phone_tail="00", aiyl_aimak_id=village.aiyl_aimak_id,
                        village_id=village.id, sex=sex, age_band=band, registered_at=utcnow())
        session.add(person)
        await session.flush()
        return person.id


async def person_of(session, telegram_id: int) -> Person:
    return await session.scalar(select(Person).where(Person.telegram_id == telegram_id)
                                .execution_options(populate_existing=True))


async def test_plan_from_the_round_priorities_once_per_round(db: Database) -> None:
    round_id, aimak_id = await closed_round(db)
    organiser = Roles(5001, organiser_of=frozenset({aimak_id}))
    other = Roles(5002, organiser_of=frozenset({(await aimak_ids(db))["cholpon"]}))
    async with db.session() as session:
        with pytest.raises(PlanError) as refused:
            await plans.create_from_round(session, other, round_id, by=5002)
        assert refused.value.code == "not_found"
        assert [r.id for r in await plans.closed_rounds_without_plan(session, organiser.organiser_of)] == [round_id]
        plan = await plans.create_from_round(session, organiser, round_id, by=5001)
        priorities = await plans.priorities_of(session, plan.id)
        # Top five of the protocol: 12, 12, 10, 10, 9.
        assert [(p.position, p.title_ru, p.votes) for p in priorities] == [
            (1, "Внутренние дороги", 12), (2, "Крыша клуба", 12), (3, "Питьевая вода", 10),
            (4, "Состояние школы", 10), (5, "Поливная вода", 9)]
        assert await plans.closed_rounds_without_plan(session, organiser.organiser_of) == []
        with pytest.raises(PlanError) as twice:
            await plans.create_from_round(session, organiser, round_id, by=5001)
        assert twice.value.code == "plan_exists"
        with pytest.raises(PlanError):
            await plans.plan_for_organiser(session, other, plan.id)
    with pytest.raises(IntegrityError):  # the database, too, keeps one plan per round
        async with db.session() as session:
            session.add(Plan(aiyl_aimak_id=aimak_id, round_id=round_id, title="again"))
            await session.flush()


async def test_activities_funding_schedule_groups_and_report(db: Database) -> None:
    round_id, aimak_id = await closed_round(db)
    organiser = Roles(5001, organiser_of=frozenset({aimak_id}))
    women = [await add_person(db, 7000 + i, "aral", "f", "18-35", name=f"Aigul{i}") for i in range(2)]
    men = [await add_person(db, 7100 + i, "birdik", "m", "36-55", name=f"Bakyt{i}") for i in range(5)]
    await add_person(db, 7200, "cholpon")  # another aiyl aimak
    now = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    async with db.session() as session:
        plan = await plans.create_from_round(session, organiser, round_id, by=5001)
        roads = (await plans.priorities_of(session, plan.id))[0]
        hall = await plans.add_activity(session, plan, ActivityInput(
            title="Sports hall repair", responsible_kind="aiyl_okmotu", starts_on=date(2026, 4, 1),
            due_on=date(2026, 12, 31), priority_id=roads.id, expected_result="The hall is used all year",
            indicators="hall open; 200 pupils", funding={"local_budget": 400_000, "community": 80_000,
                                                          "sponsor": 100_000},
            monitor_every_months=3), by=5001, zone=ZONE, now=now)
        road = await plans.add_activity(session, plan, ActivityInput(
            title="Gravel for the inner roads", responsible_kind="council", starts_on=date(2026, 4, 1),
            due_on=date(2026, 6, 30), funding={"local_budget": 120_000},
            monitor_dates=[date(2026, 5, 15), date(2026, 6, 15)]), by=5001, zone=ZONE, now=now)
        # Quarterly from 1 July (three months after the start) up to the due date; set dates as given.
        assert plans.monitoring_dates(hall) == [date(2026, 7, 1), date(2026, 10, 1)]
        assert plans.monitoring_dates(road) == [date(2026, 5, 15), date(2026, 6, 15)]
        keys = set(await session.scalars(select(ScheduledTask.key).where(ScheduledTask.status == "pending")))
        assert {f"plan:monitor:{hall.id}:2026-07-01", f"plan:monitor:{hall.id}:2026-10-01",
                f"plan:monitor:{road.id}:2026-05-15", f"plan:overdue:{road.id}"} <= keys
        task = await session.scalar(select(ScheduledTask).where(ScheduledTask.key == f"plan:overdue:{road.id}"))
        assert task.run_at == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)  # 10:00 in Bishkek the day after
        await plans.set_funding(session, hall, "local_budget", spent=150_000)
        await plans.set_funding(session, hall, "community", spent=80_000)
        with pytest.raises(PlanError):
            await plans.set_funding(session, hall, "lottery", planned=1)
        with pytest.raises(PlanError):
            await plans.add_activity(session, plan, ActivityInput(
                title="Backwards", responsible_kind="council", starts_on=date(2026, 5, 1), due_on=date(2026, 4, 1)),
                by=5001, zone=ZONE)

        group = await plans.group(session, plan, "monitoring")
        assert await plans.group(session, plan, "monitoring") == group
        plans.set_mandate(group, "Order No. 15 of the head of the aiyl okmotu", date(2026, 4, 2))
        for telegram_id in [7000, 7001, 7100, 7101, 7102, 7103, 7104]:
            assert await plans.add_member(session, group, await person_of(session, telegram_id), by=5001)
        assert not await plans.add_member(session, group, await person_of(session, 7000), by=5001)
        with pytest.raises(PlanError) as other:
            await plans.villager_of(session, plan, telegram_id=7200)
        assert other.value.code == "other_aiyl_aimak"
        members = await plans.members_of(session, group.id)
        made = plans.composition(members)
        assert (made.members, made.women, made.men, made.balanced) == (7, 2, 5, False)  # 2 of 7 = 29 %
        assert made.by_band == {"18-35": 2, "36-55": 5}
        await plans.add_member(session, await plans.group(session, plan, "initiative", "Roads"),
                               await person_of(session, 7000), by=5001)

        occasion = await plans.open_occasion(session, road.id, datetime(2026, 5, 15, 4, 0, tzinfo=UTC))
        assert (await plans.open_occasion(session, road.id, occasion.due_at)).id == occasion.id
        with pytest.raises(PlanError) as outsider:
            await plans.record_answer(session, occasion.id, await person_of(session, 7200), status="done", percent=100)
        assert outsider.value.code == "not_a_monitor"
        answer, change = await plans.record_answer(session, occasion.id, await person_of(session, 7000),
                                                   status="in_progress", percent=50, comment="Half the gravel",
                                                   now=now)
        assert (answer.percent, road.progress, road.status, change.new_status) == (50, 50, "in_progress",
                                                                                    "in_progress")
        # Answering again replaces the answer; the same status is no new change.
        answer, change = await plans.record_answer(session, occasion.id, await person_of(session, 7000),
                                                   status="in_progress", percent=75, now=now)
        assert change is None and road.progress == 75
        assert [p.id for p in await plans.members_without_answer(session, occasion)] == [
            women[1], *men]
        await plans.set_status(session, hall, "stalled", by=5001, now=now)
        survey = await plans.create_survey(session, plan, "water", datetime(2026, 6, 1, 4, tzinfo=UTC),
                                           every_months=6, times=2, by=5001)
        first = await plans.open_survey_occasion(session, survey, 1, survey.first_at)
        for telegram_id, score in [(7000, 4), (7001, 2), (7100, 5), (7101, 5)]:
            await plans.record_score(session, first.id, await person_of(session, telegram_id), score)
        await plans.record_score(session, first.id, await person_of(session, 7101), 3)  # changed their mind
        with pytest.raises(PlanError):
            await plans.record_score(session, first.id, await person_of(session, 7200), 5)
        assert plans.survey_time(survey, 2) == datetime(2026, 12, 1, 4, tzinfo=UTC)
        results = await plans.survey_results(session, survey)
        aral, birdik = [v.id for v in await plans.villages_of(session, aimak_id)]
        assert (results.overall.answers, results.overall.total) == (4, 14)
        assert results.by_village[aral].mean == 3.0 and results.by_village[birdik].mean == 4.0
        assert results.by_sex["f"].answers == 2 and results.distribution == {2: 1, 3: 1, 4: 1, 5: 1}

        report = await plan_report.gather(session, plan, zone=ZONE, now=now + timedelta(days=100))
    money = report.money()
    assert money["local_budget"] == plans.Money(520_000, 150_000)
    assert report.total_money() == plans.Money(700_000, 230_000)
    assert report.progress == pytest.approx((0 + 75) / 200)
    parts = plan_report.tables(report, gettext=english, language="en", zone=ZONE)
    by_title = {t.title: t for t in parts}
    assert [row[2] for row in by_title["Activities"].rows] == ["Sports hall repair", "Gravel for the inner roads"]
    assert by_title["Activities"].rows[1][-1] == "yes"  # past 30 June and not done
    assert ["Total", 700_000, 230_000] == by_title["Money by source"].rows[-1][:3]
    team = {row[0]: row[1] for row in by_title["Monitoring group"].rows}
    assert (team["Members"], team["Women"], team["Minority sex at least 30 %"]) == (7, 2, "no")
    book = load_workbook(io.BytesIO(plan_report.xlsx(report, gettext=english, language="en", zone=ZONE)))
    assert "Money by source" in book.sheetnames
    files = plan_report.render(report, gettext=english, language="en", zone=ZONE)
    assert files.chart.startswith(b"\x89PNG")
    text = "\n".join(p.text for p in Document(io.BytesIO(files.docx)).paragraphs)
    assert "The monitoring group has 7 members, of them women 2 (29%)" in text
    assert "Money: 700,000 som planned, 230,000 som spent (33%)." in text
    assert "Past the due date and not done: Gravel for the inner roads." in text
    assert "drinking water: 4 answers, mean score 3.5 of 5." in text


def test_parsing_money_and_dates() -> None:
    assert plans.parse_som("580 000") == 580_000
    assert plans.parse_som("580,000 сом") == 580_000
    with pytest.raises(PlanError):
        plans.parse_som("a lot")
    assert plans.parse_dates("01.04.2026 – 2026-12-31") == [date(2026, 4, 1), date(2026, 12, 31)]
    with pytest.raises(PlanError):
        plans.parse_dates("31.02.2026")
    assert plans.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert plans.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
