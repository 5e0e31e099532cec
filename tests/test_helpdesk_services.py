"""Helpdesk services on SQLite and PostgreSQL: working hours, the question's life, atomic claims, FAQ search and
anonymisation, and the figures checked by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from services import faq
from services import helpdesk as desk
from services import helpdesk_stats as stats_service
from services.helpdesk import HelpdeskConfig, HelpdeskError, WorkingHours
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.roles import Role, grant
from storage.db import Database
from storage.delivery import ScheduledTask
from storage.helpdesk import QuestionEntry
from storage.models import Person, Village

BISHKEK = ZoneInfo("Asia/Bishkek")
CONFIG = HelpdeskConfig(answer_within_hours={"emergencies": 8.0})


async def task(session, key: str):  # noqa: ANN201 - the scheduled task row, read afresh
    query = select(ScheduledTask).where(ScheduledTask.key == key).execution_options(populate_existing=True)
    return await session.scalar(query)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A moment in November 2026, Bishkek time (2 November 2026 is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BISHKEK)


def test_working_hours_by_hand() -> None:
    hours = WorkingHours.parse(BISHKEK, "09:00-12:30,13:30-18:00", [1, 2, 3, 4, 5], [local(4, 0).date()])
    # Monday 11:00 → Monday 14:00: 1.5 h before lunch + 0.5 h after.
    assert hours.seconds(local(2, 11), local(2, 14)) == 2 * 3600
    # Friday 17:00 → Monday 10:00: 1 h on Friday, 1 h on Monday; the weekend does not count.
    assert hours.seconds(local(6, 17), local(9, 10)) == 2 * 3600
    # Tuesday 17:00 → Thursday 10:00: Wednesday the 4th is a holiday.
    assert hours.seconds(local(3, 17), local(5, 10)) == 2 * 3600
    # Adding is the inverse: 8 working hours after Friday 16:00 is Monday 16:00 (2 h Fri; 3.5 h, lunch, 2.5 h Mon).
    assert hours.add(local(6, 16), 8 * 3600) == local(9, 16)
    assert hours.add(local(7, 10), 0) == local(9, 9)  # a Saturday question starts counting on Monday


async def seed(db: Database) -> dict[str, int]:
    """Places, two askers in two municipalities, two lawyers, a villager."""
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        ids: dict[str, int] = {}
        for key, telegram_id, village_code in (("asker_k", 1101, "aral"), ("asker_c", 1102, "ak-chiy"),
                                               ("villager", 1103, "birdik")):
            village = await session.scalar(select(Village).where(Village.code == village_code))
            person = Person(telegram_id=telegram_id, first_name=key, language="en", phone_hash=f"h{telegram_id}",
                            village_id=village.id, aiyl_aimak_id=village.aiyl_aimak_id, registered_at=local(1, 9))
            session.add(person)
            await session.flush()
            ids[key] = person.id
            ids[key + "_aimak"] = village.aiyl_aimak_id
        for lawyer in (2001, 2002):
            await grant(session, lawyer, Role.LAWYER)
        await desk.add_member(session, 1101, ids["asker_k_aimak"], "staff")
        await desk.add_member(session, 1102, ids["asker_c_aimak"], "deputy")
    return ids


async def test_who_may_ask(db: Database) -> None:
    ids = await seed(db)
    async with db.session() as session:
        villager = await session.get(Person, ids["villager"])
        staff = await session.get(Person, ids["asker_c"])
        assert (await desk.may_ask(session, villager, CONFIG)).reason == "not_member"
        assert (await desk.may_ask(session, villager, HelpdeskConfig(askers="registered"))).allowed
        check = await desk.may_ask(session, staff, CONFIG)
        assert check.allowed and check.aiyl_aimak_id == ids["asker_c_aimak"]


async def test_life_of_a_question_with_a_paused_clock(db: Database) -> None:
    ids = await seed(db)
    async with db.session() as session:
        asker = await session.get(Person, ids["asker_k"])
        question = await desk.submit(session, asker, topic="budget", text="Can the council move budget lines?",
                                     language="en", aiyl_aimak_id=ids["asker_k_aimak"], config=CONFIG,
                                     now=local(2, 17))
        qid = question.id
        remind = await task(session, desk.remind_key(qid))
        overdue = await task(session, desk.overdue_key(qid))
        assert remind.run_at == local(3, 12).astimezone(UTC)  # 4 working hours: 1 on Monday, 3 on Tuesday
        assert overdue.run_at == local(4, 15).astimezone(UTC)  # 16 working hours: 1 Monday, 9 Tuesday, 6 Wednesday
        await desk.claim(session, qid, 2001, config=CONFIG, now=local(2, 17, 15))
        with pytest.raises(HelpdeskError) as taken:
            await desk.claim(session, qid, 2002, config=CONFIG, now=local(2, 17, 16))
        assert taken.value.code == "taken" and taken.value.holder == 2001
        with pytest.raises(HelpdeskError):
            await desk.answer(session, qid, 2002, text="not mine", config=CONFIG, now=local(2, 17, 20))
        await desk.request_details(session, qid, 2001, text="Which year?", config=CONFIG, now=local(2, 17, 30))
        assert (await task(session, desk.overdue_key(qid))).status == "cancelled"  # the clock is paused
        question = await desk.add_details(session, qid, asker, text="2026", config=CONFIG, now=local(3, 12))
        assert question.status == desk.TAKEN and question.paused_seconds == 3.5 * 3600
        # Due again 16 working hours + the 3.5 h pause after Monday 17:00: 1 + 9 + 9, then Thursday 09:30.
        assert (await task(session, desk.overdue_key(qid))).run_at == local(5, 9, 30).astimezone(UTC)
        question = await desk.answer(session, qid, 2001, text="Yes, by a council decision.", law_refs="No. 215",
                                     config=CONFIG, now=local(3, 13))
        assert question.first_answer_seconds == 1.5 * 3600  # 1 h Monday + 4 h Tuesday − 3.5 h paused
        question = await desk.follow_up(session, qid, asker, text="And mid-year?", now=local(3, 14))
        assert question.status == desk.TAKEN and question.lawyer_id == 2001
        with pytest.raises(HelpdeskError):  # one follow-up only
            await desk.follow_up(session, qid, asker, text="again", now=local(3, 14, 30))
        await desk.answer(session, qid, 2001, text="Also mid-year.", config=CONFIG, now=local(3, 15))
        question = await desk.rate(session, qid, asker, 4, config=CONFIG, now=local(4, 9, 30))
        assert question.status == desk.CLOSED and question.rating == 4
        assert question.first_answer_seconds == 1.5 * 3600  # a follow-up does not move the first answer
        assert question.close_seconds == (1 + 9 + 0.5 - 3.5) * 3600
        kinds = [e.kind for e in (await session.scalars(select(QuestionEntry).where(
            QuestionEntry.question_id == qid).order_by(QuestionEntry.id))).all()]
        assert kinds == ["question", "event", "request", "details", "event", "answer", "followup", "answer", "rating"]
        with pytest.raises(HelpdeskError):
            await desk.rate(session, qid, asker, 5, config=CONFIG, now=local(4, 10))


async def test_release_and_pass(db: Database) -> None:
    ids = await seed(db)
    async with db.session() as session:
        asker = await session.get(Person, ids["asker_c"])
        qid = (await desk.submit(session, asker, topic="land", text="Land lease", language="en",
                                 aiyl_aimak_id=ids["asker_c_aimak"], config=CONFIG, now=local(2, 10))).id
        await desk.claim(session, qid, 2001, config=CONFIG, now=local(2, 11))
        question = await desk.release(session, qid, 2001, config=CONFIG, now=local(2, 12))
        assert question.status == desk.WAITING and question.lawyer_id is None
        assert (await task(session, desk.remind_key(qid))).run_at == local(2, 16).astimezone(UTC)
        await desk.claim(session, qid, 2002, config=CONFIG, now=local(2, 13))
        with pytest.raises(HelpdeskError):
            await desk.pass_to(session, qid, 2002, 4242)  # not a lawyer
        question = await desk.pass_to(session, qid, 2002, 2001, now=local(2, 14))
        assert question.lawyer_id == 2001 and question.status == desk.TAKEN


@pytest.mark.parametrize("backend", ["postgres"])
async def test_concurrent_claims_one_wins(db: Database) -> None:
    """Two sessions claim at the same moment: PostgreSQL's row lock lets one UPDATE change the row."""
    ids = await seed(db)
    async with db.session() as session:
        asker = await session.get(Person, ids["asker_k"])
        qid = (await desk.submit(session, asker, topic="budget", text="Race", language="en",
                                 aiyl_aimak_id=ids["asker_k_aimak"], config=CONFIG)).id

    async def attempt(lawyer: int) -> str:
        try:
            async with db.session() as session:
                await desk.claim(session, qid, lawyer, config=CONFIG)
                await asyncio.sleep(0.05)  # hold the row lock while the other claim runs
            return "won"
        except HelpdeskError as error:
            return f"{error.code}:{error.holder}"

    results = sorted(await asyncio.gather(attempt(2001), attempt(2002)))
    assert results[1] == "won" and results[0] in ("taken:2001", "taken:2002")


def test_stems_meet_across_inflections() -> None:
    assert faq.stems("жер жерлер жерди жерге") == ["жер"]
    assert set(faq.stems("отпуск отпуска отпускные")) <= {"отпуск", "отпус"}
    assert faq.stems("и в на жана менен") == []


def test_anonymise_removes_names_phones_and_places() -> None:
    text = ("Асанов Бакыт Маратович из Көк-Ирим айыл өкмөтү, тел. +996 555 123 456 или 0700 12 34 56; "
            "Айгүл Асан кызы. Закон № 101 от 15 июля 2011 года, 2 500 сом.")
    result = faq.anonymise(text, names=["Айгүл"], places=["Көк-Ирим", "Кок-Ирим"])
    for gone in ("Маратович", "Көк-Ирим", "555", "0700", "Айгүл", "кызы"):
        assert gone not in result
    assert "№ 101 от 15 июля 2011 года, 2 500 сом" in result


async def test_faq_search_finds_similar_answers(db: Database) -> None:
    await seed(db)
    async with db.session() as session:
        faq.add_entry(session, topic="labour", language="ru",
                      question="Как считать отпускные муниципальному служащему?",
                      answer="Отпускные считаются по среднему заработку за 12 месяцев.")
        faq.add_entry(session, topic="land", language="ky", question="Жер участогун ижарага берүү тартиби кандай?",
                      answer="Айыл өкмөтү жерди аукцион аркылуу ижарага берет.")
        faq.add_entry(session, topic="budget", language="ru", question="Может ли кенеш изменить бюджет?",
                      answer="Да, решением сессии местного кенеша.")
    async with db.session() as session:
        hits = await faq.search(session, "Отпуск муниципального служащего: как считать?")
        assert [h.entry.topic for h in hits] == ["labour"]
        hits = await faq.search(session, "жерлерди ижарага берүү")
        assert [h.entry.topic for h in hits] == ["land"]
        assert await faq.search(session, "футбол стадион") == []
        entry = (await faq.search(session, "бюджет кенеш изменить"))[0].entry
        entry.answer = "Нет."
        entry.search_text = faq.search_text(entry.question, entry.answer)
    async with db.session() as session:  # the index follows updates
        assert [h.entry.topic for h in await faq.search(session, "изменить бюджет")] == ["budget"]


async def test_stats_by_hand(db: Database) -> None:
    ids = await seed(db)
    async with db.session() as session:
        k = await session.get(Person, ids["asker_k"])
        c = await session.get(Person, ids["asker_c"])
        k_aimak, c_aimak = ids["asker_k_aimak"], ids["asker_c_aimak"]

        async def ask(person: Person, aimak: int, topic: str, at: datetime) -> int:
            return (await desk.submit(session, person, topic=topic, text=topic, language="en", aiyl_aimak_id=aimak,
                                      config=CONFIG, now=at)).id

        q1 = await ask(k, k_aimak, "budget", local(2, 9))  # answered after 2 h, closed after 6 h, rated 5
        await desk.claim(session, q1, 2001, config=CONFIG, now=local(2, 10))
        await desk.answer(session, q1, 2001, text="a", config=CONFIG, now=local(2, 11))
        await desk.mark_helped(session, q1, k, now=local(2, 14))
        await desk.rate(session, q1, k, 5, config=CONFIG, now=local(2, 15))
        q2 = await ask(k, k_aimak, "budget", local(2, 17))  # 1.5 h to answer, 7 h to close (3.5 h paused), 4
        await desk.claim(session, q2, 2001, config=CONFIG, now=local(2, 17, 10))
        await desk.request_details(session, q2, 2001, text="?", config=CONFIG, now=local(2, 17, 30))
        await desk.add_details(session, q2, k, text="!", config=CONFIG, now=local(3, 12))
        await desk.answer(session, q2, 2001, text="a", config=CONFIG, now=local(3, 13))
        await desk.rate(session, q2, k, 4, config=CONFIG, now=local(4, 9, 30))
        q3 = await ask(k, k_aimak, "labour", local(6, 16))  # Friday: 3 h to answer, 5 h to close, rated 2
        await desk.claim(session, q3, 2002, config=CONFIG, now=local(9, 9))
        await desk.answer(session, q3, 2002, text="a", config=CONFIG, now=local(9, 10))
        await desk.rate(session, q3, k, 2, config=CONFIG, now=local(9, 12))
        await ask(c, c_aimak, "land", local(3, 10))  # still waiting: due Wednesday 17:00
        await ask(c, c_aimak, "land", local(30, 10, month=10))  # October: not in November's figures
    async with db.session() as session:
        stats = await stats_service.compute(session, local(1, 0).astimezone(UTC), local(1, 0, month=12),
                                            CONFIG, now=local(30, 12))
        kok_irim = (await find_aiyl_aimak(session, "kok-irim")).code
    assert stats.asked == 4 and stats.answered == 3 and stats.closed == 3
    assert stats.municipalities == 2 and stats.by_municipality == {kok_irim: 3, "cholpon": 1}
    assert {t: n for t, n in stats.by_topic.items() if n} == {"budget": 2, "labour": 1, "land": 1}
    assert stats.median_first_answer == 2.0 and stats.p90_first_answer == pytest.approx(2.8)
    assert stats.median_close == 6.0 and stats.p90_close == pytest.approx(6.8)
    assert stats.ratings == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1} and stats.average_rating == pytest.approx(11 / 3)
    assert stats.helped == 1
    # The October question of Чолпон is still waiting too: the backlog is as of now, not of the month.
    assert stats.backlog == {"waiting": 2, "taken": 0, "needs_details": 0} and stats.overdue == 2
    rows = stats_service.to_csv(stats).decode("utf-8-sig").splitlines()
    assert "hours,first_answer_median,2.00" in rows and "hours,close_p90,6.80" in rows
    assert stats_service.to_xlsx(stats)[:2] == b"PK"
    assert stats_service.chart_png(stats, {}, "t")[:8] == b"\x89PNG\r\n\x1a\n"
    assert stats_service.percentile([2, 4, 6, 10], 0.5) == 5 and stats_service.percentile([2, 4, 6, 10], 0.9) == \
        pytest.approx(8.8)


async def test_unrated_answers_close_after_the_set_time_and_rated_ones_are_left_alone(db: Database) -> None:
    ids = await seed(db)
    async with db.session() as session:
        asker = await session.get(Person, ids["asker_k"])
        first = await desk.submit(session, asker, topic="land", text="Who decides on pasture rent?", language="en",
                                  aiyl_aimak_id=ids["asker_k_aimak"], config=CONFIG, now=local(2, 10))
        second = await desk.submit(session, asker, topic="land", text="And on hay fields?", language="en",
                                   aiyl_aimak_id=ids["asker_k_aimak"], config=CONFIG, now=local(2, 10, 5))
        for question in (first, second):
            await desk.claim(session, question.id, 2001, config=CONFIG, now=local(2, 11))
            await desk.answer(session, question.id, 2001, text="The council.", config=CONFIG, now=local(2, 12))
        closing = await task(session, desk.autoclose_key(first.id))
        assert closing.run_at == local(9, 12).astimezone(UTC) and closing.status == "pending"
        # A follow-up takes it back to the lawyer; the next answer moves the closing on.
        await desk.follow_up(session, first.id, asker, text="Also for hay?", now=local(3, 9))
        assert await desk.close_unrated(session, first.id, config=CONFIG, now=local(10, 9)) is None  # not answered
        await desk.answer(session, first.id, 2001, text="Yes.", config=CONFIG, now=local(4, 12))
        assert (await task(session, desk.autoclose_key(first.id))).run_at == local(11, 12).astimezone(UTC)
        assert await desk.close_unrated(session, first.id, config=CONFIG, now=local(10, 12)) is None  # too early
        closed = await desk.close_unrated(session, first.id, config=CONFIG, now=local(11, 12))
        assert closed is not None and closed.status == desk.CLOSED and closed.rating is None
        # Rated: the closing task is cancelled and a late run changes nothing.
        await desk.rate(session, second.id, asker, 5, config=CONFIG, now=local(3, 10))
        assert (await task(session, desk.autoclose_key(second.id))).status == "cancelled"
        assert await desk.close_unrated(session, second.id, config=CONFIG, now=local(20, 10)) is None
        assert (await session.get(desk.Question, second.id)).rating == 5


async def test_faq_candidates_are_planned_for_each_query(db: Database) -> None:
    """PostgreSQL plans a prepared statement for its parameters five times, then may keep a generic plan: for the
    full-text candidates that plan is a scan of every answer's text (100 ms at 5,000 answers instead of 2), chosen
    because it looks cheap with a LIMIT. The search asks for a plan of its own at each execution."""
    words = ["бюджет", "кенеш", "сессия", "отпуск", "жер", "ижара", "мектеп", "жол", "суу", "салык", "аукцион"]
    async with db.session() as session:
        for n in range(300):
            picked = [words[(n * k) % len(words)] for k in (1, 3, 7)]
            faq.add_entry(session, topic="budget", language="ru", question=" ".join(picked) + f" {n}?",
                          answer=" ".join(reversed(picked)) + ".")
    async with db.session() as session:
        for query in ("бюджет кенеш", "отпуск жер", "ижара мектеп", "жол суу", "салык аукцион", "сессия бюджет",
                      "кенеш отпуск", "жер ижара"):
            assert await faq.search(session, query)
        if db.dialect != "postgresql":
            return
        plans = (await session.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%to_tsquery%' "
            "AND statement NOT LIKE '%pg_prepared_statements%'"))).all()
        assert plans and all(generic == 0 for generic, _custom in plans), plans


async def test_faq_candidates_never_scan_every_answer(db: Database) -> None:
    """Stems found in many answers make PostgreSQL's planner expect the LIMIT to be reached early in a scan of the
    table, and that scan computes every answer's tsvector: 300 ms at 5,000 answers (the p95 of the benchmark). The
    candidates come from the GIN index whatever the estimates."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's candidates come from its FTS5 index alone")
    async with db.session() as session:
        for n in range(200):
            faq.add_entry(session, topic="budget", language="ru", question=f"бюджет кенеш сессия {n}?",
                          answer="Бюджет.")
    async with db.session() as session:
        await session.execute(text("ANALYZE faq_entry"))
    async with db.session() as session:
        await session.execute(faq.PLANNER)
        plan = "\n".join(row[0] for row in (await session.execute(
            text("EXPLAIN " + faq.pg_candidates_sql(topic=None)),
            {"query": faq._pg_query(["бюджет", "кенеш"]), "pool": faq.RANK_POOL})).all())
        assert "Seq Scan" not in plan and "faq_entry" in plan, plan
