"""The needs assessment as the method runs it (issue 12), on SQLite and PostgreSQL: results by age group and sex
checked cell by cell against hand-computed numbers, shared places, merges limited to one village, the round's
mode, nobody counted twice, the import's checks, and the organiser's language (Kyrgyz dates, units, tags)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from services import plan as plans
from services import voting, voting_results
from services.dates import day_in_sentence, day_text, moment_text, order_example
from services.events import EventError, parse_lead_times
from services.places import find_aiyl_aimak
from services.roles import Roles
from services.voting import SessionInput, VotingError
from services.voting_report import chart_by_age_png, tables, to_csv, to_xlsx, wrap_label
from storage.db import Database
from storage.models import utcnow
from tests.test_voting_report import sections
from tests.test_voting_services import (
    BANDS,
    PROTOCOL_CSV,
    add_villager,
    person,
    places,
    protocol_round,
    villagers_vote,
    vote,
)

ZONE = ZoneInfo("Asia/Bishkek")


def english(message: str) -> str:
    return message


async def village_merged_results(db: Database) -> tuple[voting.Results, dict[str, int], dict[str, int]]:
    """The protocol session in Арал, six phone voters in two villages, irrigation water counted with drinking water
    in Арал only."""
    round_id, problems = await protocol_round(db)
    await villagers_vote(db, round_id, problems)
    villages = await places(db)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=5001, age_bands=BANDS)
        await voting.merge_problems(session, rnd, problems["irrigation water"], problems["drinking water"], by=5001,
                                    village_id=villages["aral"])
        await voting.close_round(session, rnd, by=5001)
        return await voting.results(session, rnd), problems, villages


AGE_COLUMNS = ["18–35", "36–55", "56+", "not given", "Total"]
AGE_ROWS = [  # village, problem, votes by age group, total
    ["Арал", "Питьевая вода", 19, 1, 1, 0, 21],          # 10 + irrigation 9 in the session, 101, 102
    ["Арал", "Внутренние дороги", 12, 0, 0, 0, 12],
    ["Арал", "Крыша клуба", 12, 0, 0, 0, 12],
    ["Арал", "Состояние школы", 10, 0, 0, 0, 10],
    ["Арал", "Нет детского сада", 6, 1, 0, 0, 7],
    ["Арал", "Нет уличного освещения", 6, 1, 0, 0, 7],
    ["Арал", "Нет условий для молодёжи", 6, 0, 0, 0, 6],
    ["Арал", "Нет доступа к интернету", 6, 0, 0, 0, 6],
    ["Бирдик", "Внутренние дороги", 0, 1, 1, 0, 2],
    ["Бирдик", "Крыша клуба", 0, 1, 0, 1, 2],
    ["Бирдик", "Питьевая вода", 0, 0, 0, 1, 1],
    ["Бирдик", "Состояние школы", 0, 1, 0, 0, 1],
    ["Бирдик", "Поливная вода", 0, 1, 0, 0, 1],          # not merged in Бирдик: its own problem
    ["Бирдик", "Нет детского сада", 0, 1, 0, 0, 1],
    ["Aiyl aimak in all", "Питьевая вода", 19, 1, 1, 1, 22],
    ["Aiyl aimak in all", "Внутренние дороги", 12, 1, 1, 0, 14],
    ["Aiyl aimak in all", "Крыша клуба", 12, 1, 0, 1, 14],
    ["Aiyl aimak in all", "Состояние школы", 10, 1, 0, 0, 11],
    ["Aiyl aimak in all", "Нет детского сада", 6, 2, 0, 0, 8],
    ["Aiyl aimak in all", "Нет уличного освещения", 6, 1, 0, 0, 7],
    ["Aiyl aimak in all", "Нет условий для молодёжи", 6, 0, 0, 0, 6],
    ["Aiyl aimak in all", "Нет доступа к интернету", 6, 0, 0, 0, 6],
    ["Aiyl aimak in all", "Поливная вода", 0, 1, 0, 0, 1],
]
SEX_COLUMNS = ["Phone: women", "Phone: men", "Phone: did not say", "Sessions (sex not recorded)", "Total"]
SEX_ROWS = [  # village, problem, phone women / men / did not say, sessions, total
    ["Арал", "Питьевая вода", 1, 1, 0, 19, 21],
    ["Арал", "Внутренние дороги", 0, 0, 0, 12, 12],
    ["Арал", "Крыша клуба", 0, 0, 0, 12, 12],
    ["Арал", "Состояние школы", 0, 0, 0, 10, 10],
    ["Арал", "Нет детского сада", 1, 0, 0, 6, 7],
    ["Арал", "Нет уличного освещения", 1, 0, 0, 6, 7],
    ["Арал", "Нет условий для молодёжи", 1, 0, 0, 5, 6],
    ["Арал", "Нет доступа к интернету", 1, 0, 0, 5, 6],
    ["Бирдик", "Внутренние дороги", 1, 1, 0, 0, 2],
    ["Бирдик", "Крыша клуба", 1, 0, 1, 0, 2],
    ["Бирдик", "Питьевая вода", 0, 0, 1, 0, 1],
    ["Бирдик", "Состояние школы", 1, 0, 0, 0, 1],
    ["Бирдик", "Поливная вода", 1, 0, 0, 0, 1],
    ["Бирдик", "Нет детского сада", 1, 0, 0, 0, 1],
    ["Aiyl aimak in all", "Питьевая вода", 1, 1, 1, 19, 22],
    ["Aiyl aimak in all", "Внутренние дороги", 1, 1, 0, 12, 14],
    ["Aiyl aimak in all", "Крыша клуба", 1, 0, 1, 12, 14],
    ["Aiyl aimak in all", "Состояние школы", 1, 0, 0, 10, 11],
    ["Aiyl aimak in all", "Нет детского сада", 2, 0, 0, 6, 8],
    ["Aiyl aimak in all", "Нет уличного освещения", 1, 0, 0, 6, 7],
    ["Aiyl aimak in all", "Нет условий для молодёжи", 1, 0, 0, 5, 6],
    ["Aiyl aimak in all", "Нет доступа к интернету", 1, 0, 0, 5, 6],
    ["Aiyl aimak in all", "Поливная вода", 1, 0, 0, 0, 1],
]


async def test_report_tables_by_age_group_and_sex_cell_by_cell(db: Database) -> None:
    result, _problems, _villages = await village_merged_results(db)
    parts = tables(result, gettext=english, language="en", zone=ZONE, age_bands=BANDS)
    found = sections(to_csv(parts, language="en"), [t.title for t in parts])
    ages = found["Votes by village and age group"]
    assert ages[0] == ["Village", "No.", "Problem", *AGE_COLUMNS]
    # Hand-computed: the session gave 18–35 all its stickers; phone votes by each voter's own age group.
    assert [row[:1] + row[2:] for row in ages[1:]] == [[str(c) for c in row] for row in AGE_ROWS]
    sexes = found["Votes by village and sex"]
    assert sexes[0] == ["Village", "No.", "Problem", *SEX_COLUMNS]
    assert [row[:1] + row[2:] for row in sexes[1:]] == [[str(c) for c in row] for row in SEX_ROWS]
    # Every row adds up: the groups make the total.
    for row in sexes[1:]:
        assert sum(int(c) for c in row[3:7]) == int(row[7])
    # The XLSX has the same tables cell by cell, numbers as numbers (the problem's number is its id).
    ids = {row[2]: int(row[1]) for row in ages[1:]}
    book = load_workbook(io.BytesIO(to_xlsx(parts, language="en")))
    for title, columns, expected in [("Votes by village and age group", AGE_COLUMNS, AGE_ROWS),
                                     ("Votes by village and sex", SEX_COLUMNS, SEX_ROWS)]:
        cells = [[c.value for c in row] for row in book[title].iter_rows()]
        assert cells[0] == [title] + [None] * (len(columns) + 2)
        assert cells[1] == ["Village", "No.", "Problem", *columns]
        assert cells[2:] == [[row[0], ids[row[1]], *row[1:]] for row in expected]
        assert all(isinstance(v, int) for row in cells[2:] for v in row[3:])
    merges = found["Merges"]
    assert merges[0][3] == "Where" and merges[1][1:4] == ["Поливная вода", "Питьевая вода", "Арал"]
    merged = {row[2]: row for row in found["Problems and votes (merges applied)"][1:]}
    assert merged["Питьевая вода"][4] == "Поливная вода (Арал)"
    image = chart_by_age_png(result, gettext=english, language="ky", age_bands=BANDS)
    assert image.startswith(b"\x89PNG")


async def test_merge_limited_to_a_village_keeps_the_other_villages_own_problems(db: Database) -> None:
    result, problems, villages = await village_merged_results(db)
    aral, birdik = result.merged.village(villages["aral"]), result.merged.village(villages["birdik"])
    assert aral[problems["drinking water"]] == 21 and problems["irrigation water"] not in aral
    assert birdik[problems["irrigation water"]] == 1 and birdik[problems["drinking water"]] == 1
    assert result.top(villages["birdik"]).items[0].problem_id == problems["inner roads"]
    assert problems["irrigation water"] in [r.problem_id for r in result.top(villages["birdik"]).items]
    # Before merges nothing moved, and that count lists no merges.
    assert result.as_voted.village(villages["aral"])[problems["irrigation water"]] == 9
    assert voting_results.merges_for_count(result, merged=False) == []
    assert len(voting_results.merges_for_count(result, merged=True)) == 1
    async with db.session() as session:
        rnd = await voting.get_round(session, result.round.id)
        with pytest.raises(VotingError, match="already_merged"):
            await voting.merge_problems(session, rnd, problems["irrigation water"], problems["school condition"],
                                        village_id=villages["aral"])
        # Another village's merge of the same problem is its own; an everywhere-merge waits for the undo.
        await voting.merge_problems(session, rnd, problems["irrigation water"], problems["school condition"],
                                    village_id=villages["birdik"])
        with pytest.raises(VotingError, match="already_merged"):
            await voting.merge_problems(session, rnd, problems["irrigation water"], problems["inner roads"])
        again = await voting.results(session, rnd)
        assert again.merged.village(villages["birdik"])[problems["school condition"]] == 2
        assert again.merged.village(villages["aral"])[problems["drinking water"]] == 21
        first = next(m for m in again.merges if m.village_id == villages["aral"])
        await voting.undo_merge(session, rnd, first.id)
        back = await voting.results(session, rnd)
        assert back.merged.village(villages["aral"])[problems["irrigation water"]] == 9


async def test_village_merge_before_the_ballot_takes_the_problem_off_that_village_only(db: Database) -> None:
    villages = await places(db)
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА", created_by=5001)
        water = await voting.add_problem(session, rnd, title_ky="Суу жок", title_ru="Нет воды")
        drinking = await voting.add_problem(session, rnd, title_ky="Ичүүчү суу", title_ru="Питьевая вода")
        await voting.merge_problems(session, rnd, water.id, drinking.id, village_id=villages["aral"])
        ballots = await voting.publish_ballot(session, rnd, by=5001)
        assert ballots[villages["aral"]] == [drinking.id]
        assert ballots[villages["birdik"]] == [water.id, drinking.id]


async def test_shared_places_are_named_wherever_they_are() -> None:
    top = voting.top({1: 50, 2: 40, 3: 40, 4: 36, 5: 36, 6: 10})
    found = voting_results.places(voting.ranking({1: 50, 2: 40, 3: 40, 4: 36, 5: 36, 6: 10}))
    assert [found[r.problem_id].label for r in top.items] == ["1", "2–3", "2–3", "4–5", "4–5"]
    assert top.tied == []  # no tie at the cut, yet places 4–5 are shared and say so
    assert voting_results.place_note(found[4], english) == "places 4–5 shared: 2 problems with 36 votes each"
    assert voting_results.place_note(found[1], english) == ""


async def test_compact_views_and_women_share(db: Database) -> None:
    result, problems, villages = await village_merged_results(db)
    line = voting_results.breakdown(result, problems["drinking water"], villages["aral"], gettext=english,
                                    bands=BANDS)
    assert line == "18–35: 19 · 36–55: 1 · 56+: 1; women 1 · men 1 · in sessions 19"
    birdik = result.participation.village(villages["birdik"])
    assert voting_results.turnout_line(birdik, gettext=english) == (
        "3 taking part, of them women 1 (50%), 1 did not say their sex")
    title = {pid: key for key, pid in problems.items()}.get
    lines = voting_results.ranked_lines(result, result.top(villages["aral"]), villages["aral"], gettext=english,
                                        title=title)
    assert lines == ["1. drinking water: 21", "2–3. inner roads: 12", "2–3. club roof: 12",
                     "   places 2–3 shared: 2 problems with 12 votes each", "4. school condition: 10",
                     "5–6. kindergarten: 7", "5–6. street lighting: 7",
                     "   Tie at place 5: 2 problems have 7 votes each, so all of them are shown."]


async def test_a_plan_takes_each_village_s_own_top_five(db: Database) -> None:
    result, problems, villages = await village_merged_results(db)
    overall = [p for p, _votes in plans.round_priorities(result)]
    per_village = [p for p, _votes in plans.round_priorities(result, per_village=True)]
    assert problems["irrigation water"] not in overall  # Бирдик's own priority under Арал's votes
    assert problems["irrigation water"] in per_village and set(overall) <= set(per_village)
    async with db.session() as session:
        organiser = Roles(telegram_id=5001, organiser_of=frozenset({result.round.aiyl_aimak_id}))
        plan = await plans.create_from_round(session, organiser, result.round.id, by=5001, per_village=True)
        stored = [p.problem_id for p in await plans.priorities_of(session, plan.id)]
        assert stored == per_village


# Rounds: mode, nobody counted twice, dates


async def test_a_sessions_only_round_messages_nobody_and_imports_as_a_draft(db: Database) -> None:
    villages = await places(db)
    await add_villager(db, 301, "aral", "f", "18-35")
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        with pytest.raises(VotingError, match="bad_mode"):
            await voting.create_round(session, aiyl_aimak_id=aimak.id, title="x", mode="fax")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Сессиялар", mode="sessions",
                                        created_by=5001)
        assert not voting.messages_villagers(rnd)
        for kind in ("collect", "ballot", "remind", "dates", "results"):
            assert await voting.villagers_to_message(session, rnd, kind) == []
        report = await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=5001, age_bands=BANDS)
        assert report.errors == [] and report.sessions_added == 1 and rnd.phase == "draft"
        with pytest.raises(VotingError, match="sessions_only"):
            await voting.open_collection(session, rnd, by=5001)
        with pytest.raises(VotingError, match="sessions_only"):
            await voting.publish_ballot(session, rnd, by=5001)
        villager = await person(session, 301)
        assert await voting.open_rounds_for(session, villager) == []
        with pytest.raises(VotingError, match="sessions_only"):
            await voting.check_ballot(session, rnd, villager, villages["aral"], [])
        assert await voting.close_round(session, rnd, by=5001)
        assert rnd.phase == "closed"
        assert (await voting.results(session, rnd)).merged.total()
        phone = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Телефон", mode="phone")
        await voting.open_collection(session, phone, by=5001)
        with pytest.raises(VotingError, match="phone_only"):
            await voting.record_session(session, phone, SessionInput(
                villages["aral"], "18-35", date(2026, 3, 1), "Клуб", 20, 9), by=5001)
        assert [p.telegram_id for p in await voting.villagers_to_message(session, phone, "collect")] == [301]


async def test_a_villager_who_took_part_in_the_session_is_refused_a_phone_ballot(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    villages = await places(db)
    await add_villager(db, 401, "aral", "f", "18-35")
    await add_villager(db, 402, "aral", "m", "36-55")
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        assert voting.needs_attendance_question(rnd)
        yes, no = await person(session, 401), await person(session, 402)
        assert await voting.attendance_of(session, round_id, yes.id) is None
        assert not await voting.ask_attendance(session, rnd, yes)  # no session of Арал on record yet
        assert await voting.record_attendance(session, rnd, yes, True) is True
        assert await voting.record_attendance(session, rnd, yes, False) is True  # asked once: the first answer
        assert await voting.record_attendance(session, rnd, no, False) is False
    with pytest.raises(VotingError, match="attended_session"):
        await vote(db, round_id, 401, problems, ["inner roads"])
    assert (await vote(db, round_id, 402, problems, ["inner roads"])).changed
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        assert [p.telegram_id for p in await voting.non_voters(session, round_id)] == []  # 401: no reminders
        # The sheets: 401 says they were at Арал's session; with no session sheet yet the check says so.
        result = await voting.results(session, rnd)
        checks = {c.village_id: c for c in await voting_results.double_count_checks(session, result)}
        assert checks[villages["aral"]].attended_over_sessions and checks[villages["aral"]].phone_voters == 1
        assert "took part in a session" in voting_results.double_count_warning(checks[villages["aral"]], "Арал",
                                                                              gettext=english)
        await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=5001, age_bands=BANDS)
        assert await voting.ask_attendance(session, rnd, await person(session, 402))  # now Арал's is
        result = await voting.results(session, rnd)
        checks = {c.village_id: c for c in await voting_results.double_count_checks(session, result)}
        assert checks[villages["aral"]].ok and checks[villages["birdik"]].ok


async def test_import_checks_twenty_people_and_five_stickers_naming_the_row(db: Database) -> None:
    round_id, _problems = await protocol_round(db)
    text = ("айыл;курак тобу;дата;место;участники;аялдар;көйгөй;добуштар\n"  # Kyrgyz and Russian headers
            "Арал;18-35;12.03.2026;Клуб;12;5;Ички жолдор;3\n"
            "Арал;36-55;12.03.2026;Клуб;21;5;Ички жолдор;110\n"
            "Арал;56+;13.03.2026;Мечит;20;8;Ички жолдор;100\n")
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        report = await voting.import_sessions_csv(session, rnd, text, by=5001, age_bands=BANDS)
        assert [(line, e.code, e.detail) for line, e in report.errors] == [
            (2, "too_few_participants", {"participants": 12, "minimum": 20}),
            (3, "votes_over_stickers", {"votes": 110, "limit": 105})]
        assert await voting.sessions_of(session, round_id) == []
        assert voting.column_name("Возрастная группа") == "age_group" and voting.column_name("Age group") == "age_group"
    for language in ("ky", "ru", "uz", "en"):  # the headers a prompt shows are the ones the import reads
        assert [voting.column_name(h) for h in voting.session_headers(language)] == list(voting.SESSION_COLUMNS)


async def test_dates_change_while_open_and_the_past_is_refused_with_a_future_example(db: Database) -> None:
    round_id, _problems = await protocol_round(db)
    now = utcnow()
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        with pytest.raises(VotingError, match="past_date") as refused:
            await voting.change_dates(session, rnd, vote_ends_at=now - timedelta(hours=1), by=5001, now=now)
        assert refused.value.detail["example"] > now
        later = rnd.vote_ends_at + timedelta(days=3)
        assert await voting.change_dates(session, rnd, vote_ends_at=later, by=5001, now=now)
        assert rnd.vote_ends_at == later
        assert not await voting.change_dates(session, rnd, vote_ends_at=later, by=5001, now=now)
        with pytest.raises(VotingError, match="wrong_phase"):
            await voting.change_dates(session, rnd, collect_ends_at=now + timedelta(days=1), by=5001, now=now)
        await voting.close_round(session, rnd, by=5001)
        with pytest.raises(VotingError, match="wrong_phase"):
            await voting.change_dates(session, rnd, vote_ends_at=later, by=5001, now=now)


# The organiser's language


def test_competence_tags_in_kyrgyz_and_russian() -> None:
    assert voting.parse_competence("жергиликтүү") == "local" and voting.parse_competence("Местное") == "local"
    assert voting.parse_competence("өткөрүлүп берилген") == "delegated"
    assert voting.parse_competence("делегированное") == "delegated" and voting.parse_competence("delegated")
    assert voting.parse_competence("тышкары") == "outside" and voting.parse_competence("вне полномочий") == "outside"
    with pytest.raises(VotingError, match="bad_competence"):
        voting.parse_competence("ж")


def test_reminder_offsets_in_kyrgyz_russian_and_english_units() -> None:
    assert voting.parse_reminder_hours("1к, 2с") == [24, 2]
    assert voting.parse_reminder_hours("1д, 2ч") == [24, 2]
    assert voting.parse_reminder_hours("2d 3h") == [48, 3]
    assert voting.parse_reminder_hours("48,24,2") == [48, 24, 2]
    with pytest.raises(VotingError, match="bad_reminders"):
        voting.parse_reminder_hours("эртең")
    assert parse_lead_times("1к, 2с") == [1440, 120] and parse_lead_times("1д, 2ч") == [1440, 120]
    with pytest.raises(EventError):
        parse_lead_times("1ж")


def test_event_and_voting_reminders_read_the_same_words() -> None:
    """One vocabulary (services.durations): a word that works for a round's reminders works for an event's."""
    for text in ("2 күн, 3 саат", "2 дня 3 часа", "2 days, 3 hours", "2д. 3ч.", "2k 3s"):
        assert voting.parse_reminder_hours(text) == [48, 3], text
        assert parse_lead_times(text) == [2880, 180], text
    assert parse_lead_times("30 мин, 1 саат") == [60, 30] and parse_lead_times("45 мүнөт") == [45]
    assert voting.parse_reminder_hours("1 күн 120 мин") == [24, 2]  # minutes that make whole hours
    assert parse_lead_times("90") == [90] and voting.parse_reminder_hours("90") == [90]  # plain: minutes, hours
    for text in ("90 мин", "1ж", "эртең", "", "2 weeks"):  # not whole hours, a year, tomorrow, nothing, weeks
        with pytest.raises(VotingError, match="bad_reminders"):
            voting.parse_reminder_hours(text)
    for text in ("1ж", "2 weeks", "0 мин", "61 күн", "1m 2m 3m 4m 5m 6m"):  # at most 60 days, at most five
        with pytest.raises(EventError):
            parse_lead_times(text)


def test_kyrgyz_dates_follow_kyrgyz_grammar() -> None:
    day = date(2026, 11, 29)
    assert day_in_sentence(day, "ky") == "2026-жылдын 29-ноябры"
    assert day_text(day, "ky") == "29-ноябрь, 2026-ж."
    assert moment_text(datetime(2026, 11, 29, 9, 0, tzinfo=UTC), "ky", ZONE) == "29-ноябрь, 2026-ж., 15:00"
    assert day_in_sentence(date(2026, 5, 1), "ky") == "2026-жылдын 1-майы"
    assert day_text(day, "ru") == "29 ноября 2026 г."
    assert order_example("ky") == "02.04.2026-ж. №15 буйрук"
    from bot.i18n import Formatter

    fmt = Formatter("ky", ZONE)
    assert fmt.date(day) == "2026-жылдын 29-ноябры" and "29 ноябрь 2026" not in fmt.datetime(
        datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    assert Formatter("en", ZONE).date(day) == "November 29, 2026"


def test_chart_labels_wrap_and_the_web_chat_keeps_the_aspect_ratio() -> None:
    label = wrap_label("Жаштар үчүн спорт аянтчасы жана бош убакытты өткөрүүчү жай жок, алар айылдан кетип жатышат")
    assert all(len(line) <= 28 for line in label.split("\n")) and label.count("\n") == 2 and label.endswith("…")
    html = (Path(__file__).resolve().parent.parent / "bot" / "emulator" / "static" / "chat.html").read_text()
    rule = html[html.index(".msg img {"):html.index("}", html.index(".msg img {"))]
    assert "height: auto" in rule and "width: auto" in rule and "pixelated" not in rule


async def test_results_message_names_places_and_lists_merges_only_after_merges(db: Database) -> None:
    result, _problems, villages = await village_merged_results(db)
    after = voting_results.results_message(result, gettext=english, language="ru", phase="closed", detail=True,
                                           bands=BANDS)
    before = voting_results.results_message(result, gettext=english, language="ru", phase="closed", merged=False)
    assert "Merged for this count:" in after and "Поливная вода → Питьевая вода (Арал)" in after
    assert "Merged for this count:" not in before and "As voted, before merges:" in before
    aral = after.split("\n\n")[1].splitlines()
    assert aral[:4] == ["<b>Арал</b>: 23 taking part, of them women 11 (48%)", "1. Питьевая вода: 21",
                        "   18–35: 19 · 36–55: 1 · 56+: 1; women 1 · men 1 · in sessions 19",
                        "2–3. Внутренние дороги: 12"]
    assert "   Tie at place 5: 2 problems have 7 votes each, so all of them are shown." in aral
    assert "   places 2–3 shared: 2 problems with 12 votes each" in aral
    birdik = voting_results.results_message(result, gettext=english, language="ru", phase="closed",
                                            village_id=villages["birdik"])
    assert birdik.split("\n\n")[1].splitlines()[0] == (
        "<b>Бирдик</b>: 3 taking part, of them women 1 (50%), 1 did not say their sex")
    figures = voting_results.figures(result)
    assert (figures.turnout.people, figures.votes, figures.sessions) == (26, 75 + 14, 1)


# Women's share beside participation figures elsewhere


async def test_women_share_in_the_rsvp_summary_and_the_helpdesk_statistics(db: Database) -> None:
    from services import events, helpdesk_stats
    from services import helpdesk as desk
    from services.helpdesk import HelpdeskConfig

    villages = await places(db)
    for telegram_id, sex in ((601, "f"), (602, "f"), (603, "m"), (604, None), (605, "f")):
        await add_villager(db, telegram_id, "aral", sex, "18-35")
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        roles = Roles(telegram_id=5001, organiser_of=frozenset({aimak.id}))
        event = await events.create_event(
            session, roles=roles, aiyl_aimak_id=aimak.id, kind="gathering", topic="Бюджет", agenda="1.",
            starts_at=utcnow() + timedelta(days=3), place="Клуб", village_ids=[villages["aral"]], whole_aimak=False,
            reminder_minutes=[])
        for telegram_id in (601, 602, 603, 604):
            await events.respond(session, event.id, await person(session, telegram_id), "yes")
        await events.respond(session, event.id, await person(session, 605), "no")
        answers = await events.answers(session, event)
        # Four coming: two women, one man, one who did not say — the share is of the three who said.
        assert (answers.coming, answers.coming_women, answers.coming_not_said) == (4, 2, 1)
        assert answers.coming_women_share == pytest.approx(2 / 3)
        config = HelpdeskConfig()
        for telegram_id in (601, 603, 604):
            await desk.add_member(session, telegram_id, aimak.id, "staff")
            asker = await person(session, telegram_id)
            await desk.submit(session, asker, topic="budget", text="Суроо", language="ky", aiyl_aimak_id=aimak.id,
                              config=config)
        await desk.submit(session, await person(session, 601), topic="land", text="Дагы", language="ky",
                          aiyl_aimak_id=aimak.id, config=config)
        now = utcnow()
        stats = await helpdesk_stats.compute(session, now - timedelta(days=1), now + timedelta(days=1), config, now)
        assert (stats.asked, stats.askers, stats.askers_women, stats.askers_not_said) == (4, 3, 1, 1)
        assert stats.askers_women_share == 0.5
        rows = helpdesk_stats.to_csv(stats).decode("utf-8-sig").splitlines()
        assert "askers,women,1" in rows and "askers,not_said,1" in rows and "askers,women_share,0.50" in rows


def test_prompts_name_tags_and_examples_in_the_reader_s_language() -> None:
    import re

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "locales"
    for language in ("ky", "ru", "uz"):
        with (root / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=language)
        tag_prompt = catalog.get("Use: /tag PROBLEM local|delegated|outside").string
        words = re.search(r"(\S+\|\S+\|\S+)$", tag_prompt).group(1).split("|")
        assert "local" not in words and [voting.parse_competence(w) for w in words] == list(voting.COMPETENCES)
        for message in catalog:
            examples = re.findall(r"<code>(.*?)</code>", message.string or "") if isinstance(message.string, str) \
                else []
            assert not any(re.search(r"\b(Order|decision)\b", e) for e in examples), (language, message.id)
    with (root / "ky" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        ky = read_po(handle, locale="ky")
    assert "02.04.2026-ж. №15 буйрук" in ky.get(
        "The order of the head of the aiyl okmotu that names the group, e.g. <code>Order No. 15 of 02.04.2026</code>:"
    ).string
    assert plans.parse_dates("15.05.2026-ж. №12 чечим") == [date(2026, 5, 15)]
    assert plans.DATE_RE.sub("", "15.05.2026-ж. №12 чечим", count=1).strip() == "№12 чечим"
