"""A count reads right in every language (issue 12): English says "1 answer" and "1 vote each", Russian takes
its three forms, through the real catalogs, in the plan's report, the tie notes and the double-count check."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot.i18n import in_language, make_i18n
from services import plan as plans
from services import plan_report, voting, voting_results
from services.roles import Roles
from services.voting_report import tie_note
from storage.db import Database
from tests.test_plan_services import add_person, closed_round, person_of

ZONE = ZoneInfo("Asia/Bishkek")


def plural(i18n):
    return lambda singular, plural_, n: i18n.gettext(singular, plural_, n)


@pytest.fixture(scope="module")
def i18n():
    return make_i18n("ky")


def test_tie_and_shared_place_notes_say_one_vote(i18n) -> None:
    one = voting.top({1: 5, 2: 4, 3: 3, 4: 2, 5: 1, 6: 1})
    with in_language(i18n, "en"):
        assert tie_note(one, i18n.gettext, plural(i18n)) == "tie at place 5: 2 problems with 1 vote each, all shown"
        place = voting_results.places(voting.ranking({1: 5, 2: 1, 3: 1}))[2]
        assert voting_results.place_note(place, i18n.gettext, ngettext=plural(i18n)) == (
            "places 2–3 shared: 2 problems with 1 vote each")
    with in_language(i18n, "ru"):
        notes = [tie_note(voting.top({1: 9, 2: 9, 3: 9, 4: 9, 5: n, 6: n}), i18n.gettext, plural(i18n))
                 for n in (1, 3, 5)]
        assert [note.split("по ")[1].split(",")[0] for note in notes] == ["1 голосу", "3 голоса", "5 голосов"]


def test_the_double_count_warning_counts_one_villager(i18n) -> None:
    check = voting_results.DoubleCountCheck(1, session_participants=20, phone_voters=1, said_attended=0,
                                            population=None, unasked_voters=1)
    with in_language(i18n, "en"):
        text = voting_results.double_count_warning(check, "Арал", gettext=i18n.gettext, ngettext=plural(i18n))
    assert text.startswith("Арал: 1 villager voted by phone without being asked")
    assert "The phone ballot counts: if that person is on the session sheet (20 participants)" in text


async def test_the_plan_report_says_one_answer_and_one_activity(db: Database, i18n) -> None:
    round_id, aimak_id = await closed_round(db)
    await add_person(db, 7000, "aral", "f", "18-35")
    organiser = Roles(5001, organiser_of=frozenset({aimak_id}))
    async with db.session() as session:
        plan = await plans.create_from_round(session, organiser, round_id, by=5001)
        priority = (await plans.priorities_of(session, plan.id))[0]
        await plans.add_activity(session, plan, plans.ActivityInput(
            title="Gravel", responsible_kind="council", starts_on=date(2026, 4, 1), due_on=date(2026, 12, 31),
            priority_id=priority.id), by=5001, zone=ZONE, now=datetime(2026, 3, 1, tzinfo=UTC))
        survey = await plans.create_survey(session, plan, "water", datetime(2026, 6, 1, 4, tzinfo=UTC),
                                           every_months=6, times=1, by=5001)
        occasion = await plans.open_survey_occasion(session, survey, 1, survey.first_at)
        await plans.record_score(session, occasion.id, await person_of(session, 7000), 4)
        group = await plans.group(session, plan, "monitoring")
        await plans.add_member(session, group, await person_of(session, 7000), by=5001)
        report = await plan_report.gather(session, plan, zone=ZONE, now=datetime(2026, 7, 1, tzinfo=UTC)
                                          + timedelta(days=1))
    with in_language(i18n, "en"):
        files = plan_report.render(report, gettext=i18n.gettext, language="en", zone=ZONE, ngettext=plural(i18n))
    text = "\n".join(p.text for p in Document(io.BytesIO(files.docx)).paragraphs)
    assert "The plan has 1 activity: 0 done" in text
    assert "The monitoring group has 1 member, of them women 1 (100%). It gave 0 monitoring answers." in text
    assert "drinking water: 1 answer, mean score 4 of 5." in text
    with in_language(i18n, "ru"):
        lines = plan_report.summary_lines(report, gettext=i18n.gettext, language="ru", ngettext=plural(i18n))
    assert "В плане 1 мероприятие;" in lines[0] and "В группе мониторинга 1 член," in "\n".join(lines)


def test_the_event_preview_counts_one_villager_and_one_day(i18n) -> None:
    goes = ("It goes to {count} registered villager, in their own language, with a calendar file. "
            "Documents attached: {documents}.",
            "It goes to {count} registered villagers, each in their own language, with a calendar file. "
            "Documents attached: {documents}.")
    ahead = ("⚠️ That is less than {days} day ahead: the law or your charter may require a longer notice.",
             "⚠️ That is less than {days} days ahead: the law or your charter may require a longer notice.")
    with in_language(i18n, "en"):
        assert i18n.gettext(*goes, 1).startswith("It goes to {count} registered villager, in their")
        assert i18n.gettext(*ahead, 1).startswith("⚠️ That is less than {days} day ahead")
    with in_language(i18n, "ru"):
        assert [i18n.gettext(*goes, n).split(" жител")[0].split()[-1] for n in (1, 3, 5)] == [
            "зарегистрированный", "зарегистрированных", "зарегистрированных"]
        assert "жителя," in i18n.gettext(*goes, 3) and "жителей," in i18n.gettext(*goes, 5)
