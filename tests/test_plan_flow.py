"""The joint action plan end to end through the emulator: an organiser builds the plan in chat from a closed
round's priorities, monitoring prompts fire on their dates (time moved by passing ``now`` to the runners),
answers update progress, overdue and status-change notices, a restart in between, forged buttons refused."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlalchemy import func, select

from bot.app import Jamaat
from handlers.plan.buttons import MonitorCB, OrgCB, ScoreCB
from jobs.sender import send_pending, sender_held
from jobs.tasks import run_due_tasks
from services import plan as plans
from services.roles import Role, grant
from storage.db import Database
from storage.models import utcnow
from storage.plan import MonitoringAnswer, Plan, PlanActivity, SurveyAnswer
from tests.harness import Harness, run_tasks_at, running_bot
from tests.test_plan_services import add_person, aimak_ids, closed_round

ZONE = ZoneInfo("Asia/Bishkek")
ORGANISER, OTHER_ORGANISER = 1301, 1341
WOMAN, MAN, MAN2 = 1311, 1312, 1313  # the monitoring group
FOLLOWER, OUTSIDER = 1321, 1331


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Harness]:
    # No per-chat interval: the tests move the sender's clock forward, and several notices go to one chat.
    async with running_bot(db, outbox_chat_interval=0.0) as harness:
        yield harness


async def people(bot: Harness) -> None:
    """The round, the organisers and villagers (registered directly; the chat is what these tests are about)."""
    ids = await aimak_ids(bot.db)
    for telegram_id, village, sex in [(ORGANISER, "aral", "f"), (WOMAN, "aral", "f"), (MAN, "birdik", "m"),
                                      (MAN2, "birdik", "m"), (FOLLOWER, "aral", None), (OUTSIDER, "birdik", "m"),
                                      (OTHER_ORGANISER, "cholpon", "m")]:
        await add_person(bot.db, telegram_id, village, sex, "36-55")
        bot.user(telegram_id, f"V{telegram_id}", language_code="en")
    async with bot.db.session() as session:
        await grant(session, ORGANISER, Role.ORGANISER, ids["kok-irim"])
        await grant(session, OTHER_ORGANISER, Role.ORGANISER, ids["cholpon"])


def local_day(offset: int) -> date:
    return plans.local_day(utcnow(), ZONE) + timedelta(days=offset)


def morning(day: date, minutes: int = 1) -> datetime:
    return plans.at_local(day, ZONE) + timedelta(minutes=minutes)


async def tick(bot: Harness, now: datetime) -> list[str]:
    """The task runner and the outbox sender at ``now`` (what the background jobs do when that time comes); the
    kinds of the plan's tasks that ran (a clock past the 1st of a month also runs the helpdesk's monthly report)."""
    assert bot.app is not None
    ran = [kind for kind in await run_tasks_at(bot.app, now=now) if kind.startswith("plan.")]
    async with sender_held(bot.app):  # the bot's own sender, on the real clock, would race this later one
        await send_pending(bot.app, now=now)
    return ran


def texts(user, needle: str) -> list[str]:
    return [t for t in user.texts if t and needle in t]


async def build_plan(bot: Harness) -> tuple[int, int, date, list[date]]:
    """The organiser makes the plan from the round and adds one activity with two monitoring dates."""
    await closed_round(bot.db)
    organiser = bot.user(ORGANISER)
    await organiser.send("/plans")
    await organiser.tap(contains="New plan from")
    card = organiser.last.text
    assert "Joint action plan: ЖМБА 2026" in card and "Not yet approved" in card
    assert "1. Ички жолдор" in card and "5. Сугат суусу" in card and "Бала бакча" not in card  # the top five
    await organiser.tap("➕ Activity")
    await organiser.tap("1. Ички жолдор")
    await organiser.send("Gravel for the inner roads")
    await organiser.tap("a named person")
    await organiser.send(str(MAN))  # a registered villager: he gets the overdue notice
    start, due = local_day(5), local_day(60)
    await organiser.send(f"{start:%d.%m.%Y} {due:%d.%m.%Y}")
    await organiser.tap("local budget")
    await organiser.send("120 000")
    await organiser.tap("community contribution")
    await organiser.send("30000")
    assert "Total: 150,000 som" in organiser.last.text
    await organiser.tap("✔️ Done")
    await organiser.send("Gravel on all inner roads of Арал")
    await organiser.send("4 km of road gravelled; act of completed works")
    await organiser.tap("On set dates")
    checks = [local_day(20), local_day(40)]
    await organiser.send(" ".join(f"{d:%d.%m.%Y}" for d in checks))
    card = organiser.last.text
    assert "Gravel for the inner roads" in card and "Responsible: V1312" in card
    assert "local budget: 120,000 som planned, 0 spent" in card and "Status: planned, 0% done" in card
    async with bot.db.session() as session:
        plan_id = await session.scalar(select(Plan.id))
        activity_id = await session.scalar(select(PlanActivity.id))
    # The monitoring group: three villagers; an unknown number and a villager of another aiyl aimak refused.
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap("👥 Groups")
    await organiser.tap("Monitoring group")
    await organiser.send(f"{WOMAN}\n{MAN}\n{MAN2}\n{OTHER_ORGANISER}\n+996709999999")
    group = organiser.last.text
    assert "V1311: added" in group and "V1313: added" in group
    assert f"{OTHER_ORGANISER}: This person lives in another aiyl aimak." in group
    assert "+996709999999: This person is not a registered villager." in group
    assert "3 members: women 1, men 2, not given 0 (women 33%)." in group
    assert "✓ The smaller sex makes up 33%" in group
    await organiser.tap("📜 Mandate")
    await organiser.send(f"Order No. 15 of {local_day(1):%d.%m.%Y}")
    assert "Mandate (order of the head of the aiyl okmotu): Order No. 15" in organiser.last.text
    return plan_id, activity_id, due, checks


async def test_plan_monitoring_progress_notices_and_restart(bot: Harness) -> None:
    await people(bot)
    plan_id, activity_id, due, checks = await build_plan(bot)
    follower, outsider = bot.user(FOLLOWER), bot.user(OUTSIDER)
    await follower.send("/plan")
    assert "Gravel for the inner roads: planned, 0%" in follower.last.text
    await follower.tap("🔔 Follow the plan")
    await outsider.send("/plan")

    await bot.restart()  # a deploy between planning and the first monitoring date: nothing is lost

    woman, man, man2, organiser = bot.user(WOMAN), bot.user(MAN), bot.user(MAN2), bot.user(ORGANISER)
    assert await tick(bot, morning(checks[0]) - timedelta(minutes=2)) == []  # not yet
    assert not texts(woman, "Monitoring")
    # Two bot processes on one database run the due tasks at the same moment: the prompt task runs once.
    assert bot.app is not None
    second = Jamaat.create(bot.settings, db=bot.db)
    try:
        ran = await asyncio.gather(run_tasks_at(bot.app, now=morning(checks[0])),
                                   run_due_tasks(second, now=morning(checks[0])))
    finally:
        await second.bot.session.close()
    assert sorted(kinds.count(plans.MONITOR_TASK) for kinds in ran) == [0, 1]
    async with sender_held(bot.app):
        await send_pending(bot.app, now=morning(checks[0]))
    prompt = await woman.wait_for_message(lambda m: "Monitoring" in (m.text or ""))
    assert "Activity: Gravel for the inner roads" in prompt.text and prompt.buttons[0] == ["planned", "in progress"]
    await man.wait_for_message(lambda m: "Monitoring" in (m.text or ""))
    # Twice at the same time (another process, a retry): nobody is asked twice.
    await tick(bot, morning(checks[0], 2))
    assert len(texts(woman, "Monitoring")) == 1

    # A villager outside the monitoring group forges the member's button: refused, nothing recorded.
    await outsider.tap_data(prompt.callback_data("in progress"))
    assert outsider.last_answer == ("Only members of the monitoring group can answer this question.", True)
    await outsider.tap_data(MonitorCB(occ=999, action="st", value="done").pack())
    assert outsider.last_answer == ("This button is no longer active.", True)

    await woman.tap("in progress", message=prompt)
    await woman.tap("50%")
    await woman.send("Half of the gravel is on the road")
    await woman.send_photo()
    assert woman.last.text == "Thank you, your monitoring answer is saved: in progress, 50% done."
    async with bot.db.session() as session:
        answers = (await session.scalars(select(MonitoringAnswer))).all()
        assert [(a.status, a.percent, a.comment, a.photo_file_id is not None) for a in answers] == [
            ("in_progress", 50, "Half of the gravel is on the road", True)]
        activity = await session.get(PlanActivity, activity_id)
        assert (activity.status, activity.progress) == ("in_progress", 50)

    # The follower is told of the status change; /plan shows the progress.
    await tick(bot, utcnow())
    notice = await follower.wait_for_message(lambda m: "is now" in (m.text or ""))
    assert notice.text.startswith("📢 Joint action plan “ЖМБА 2026”: “Gravel for the inner roads” is now in progress "
                                  "(it was planned), 50% done.")
    await follower.send("/plan")
    assert "Gravel for the inner roads: in progress, 50%" in follower.last.text

    # Three days later the two silent members are reminded once; the one who answered is not.
    await tick(bot, morning(checks[0] + timedelta(days=3)))
    await man.wait_for_message(lambda m: "Reminder" in (m.text or ""))
    await man2.wait_for_message(lambda m: "Reminder" in (m.text or ""))
    assert not texts(woman, "Reminder")
    await bot.restart()
    await tick(bot, morning(checks[0] + timedelta(days=3), 5))
    assert len(texts(man, "Reminder")) == 1
    # Man 2 answers the reminder (done); three days after the reminder the organiser hears of the one left.
    reminder = await man2.wait_for_message(lambda m: "Reminder" in (m.text or ""))
    await man2.tap("done", message=reminder)
    await man2.tap("Skip")
    await man2.tap("Skip")
    assert man2.last.text == "Thank you, your monitoring answer is saved: done, 100% done."
    await tick(bot, utcnow())  # status changes are told at once (here: before the test's clock jumps ahead)
    await tick(bot, morning(checks[0] + timedelta(days=6)))
    told = await organiser.wait_for_message(lambda m: "not answered" in (m.text or ""))
    assert "1 member of the monitoring group has not answered, even after a reminder: V1312." in told.text

    # The organiser moves it back to stalled; then it is overdue the day after the due date.
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap(contains="Gravel")
    await organiser.tap("stalled")
    assert "Status: stalled, 100% done" in organiser.last.text
    await tick(bot, utcnow())
    await tick(bot, morning(due))
    assert not texts(organiser, "Overdue")
    await tick(bot, morning(due + timedelta(days=1)))
    overdue = await man.wait_for_message(lambda m: "Overdue" in (m.text or ""))
    assert f"was due on {due:%B} {due.day}, {due.year}" in overdue.text
    assert "You are named as responsible for it." in overdue.text
    await organiser.wait_for_message(lambda m: "Overdue" in (m.text or ""))
    assert len(texts(follower, "is now")) == 3  # in progress, done, stalled


async def test_another_organiser_cannot_see_or_change_the_plan(bot: Harness) -> None:
    await people(bot)
    plan_id, activity_id, _due, _checks = await build_plan(bot)
    other, villager = bot.user(OTHER_ORGANISER), bot.user(FOLLOWER)
    await other.send("/plans")
    assert other.last.text.startswith("No joint action plan yet.")
    for forged in [OrgCB(action="open", plan=plan_id), OrgCB(action="st", plan=plan_id, item=activity_id,
                                                              value="cancelled"),
                   OrgCB(action="report", plan=plan_id), OrgCB(action="grp", plan=plan_id, item=1)]:
        await other.tap_data(forged.pack())
        assert other.last_answer == (
            "This plan is not one of your aiyl aimaks' plans, or it no longer exists.", True)
    await other.send("/plan")  # as a villager: his own aiyl aimak has no plan
    assert other.last.text == "Your aiyl aimak has no joint action plan in Jamaat yet."
    await villager.send("/plans")
    assert villager.last.text.startswith("Sorry, /plans is only for the role organiser")
    await villager.tap_data(OrgCB(action="st", plan=plan_id, item=activity_id, value="done").pack())
    assert villager.last_answer[1] is True
    async with bot.db.session() as session:
        activity = await session.get(PlanActivity, activity_id)
        assert activity.status == "planned"
        assert await session.scalar(select(func.count()).select_from(Plan)) == 1


async def test_satisfaction_survey_and_the_report(bot: Harness) -> None:
    await people(bot)
    await build_plan(bot)
    organiser = bot.user(ORGANISER)
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap("⭐ Satisfaction survey")
    await organiser.tap("drinking water")
    day = local_day(10)
    await organiser.send(f"{day:%d.%m.%Y}")
    assert organiser.last.text.startswith("The survey about drinking water is planned")
    await tick(bot, morning(day))
    woman, man, other = bot.user(WOMAN), bot.user(MAN), bot.user(OTHER_ORGANISER)
    question = await woman.wait_for_message(lambda m: "how satisfied" in (m.text or ""))
    assert question.buttons == [["1", "2", "3", "4", "5"]]
    await woman.tap("4", message=question)
    assert "Your answer: 4 of 5. Thank you!" in woman.last.text
    await man.tap("2", message=await man.wait_for_message(lambda m: "how satisfied" in (m.text or "")))
    assert not texts(other, "how satisfied")  # another aiyl aimak is not asked
    await other.send("/plan")
    await other.tap_data(question.callback_data("5"))  # a forged score from another aiyl aimak
    assert other.last_answer == ("This button is no longer active.", True)
    await other.tap_data(ScoreCB(occ=question_occ(question), score=9).pack())
    assert other.last_answer == ("This button is no longer active.", True)
    async with bot.db.session() as session:
        scores = sorted((await session.scalars(select(SurveyAnswer.score))).all())
    assert scores == [2, 4]
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    assert "⭐ drinking water: 2 answers, mean 3 of 5 (Арал 4; Бирдик 2)" in organiser.last.text
    await organiser.tap("📊 Report")
    await organiser.wait_for_message(lambda m: m.document is not None and m.document.filename.endswith(".docx"))
    files = [m for m in organiser.messages if m.document is not None or m.photo is not None]
    assert files[0].photo is not None and files[0].caption.startswith("📊 Monitoring report: ЖМБА 2026")
    assert [m.document.filename.rsplit(".", 1)[1] for m in files[1:]] == ["xlsx", "docx"]
    text = "\n".join(p.text for p in Document(io.BytesIO(files[2].document.data)).paragraphs)
    assert "The plan has 1 activity: 0 done, 0 in progress, 1 planned" in text
    assert "Money: 150,000 som planned, 0 som spent" in text
    assert "The monitoring group has 3 members, of them women 1 (33%)" in text
    assert "drinking water: 2 answers, mean score 3 of 5." in text

    # The council's approval; the yearly report comes on its anniversary, through the outbox.
    await organiser.tap("✅ Council approval")
    approved = local_day(-10)
    await organiser.send(f"{approved:%d.%m.%Y} decision No. 12")
    assert organiser.last.text.startswith("Recorded: approved by the local council on")
    before = len(organiser.messages)
    anniversary = plans.add_months(approved, 12)
    await tick(bot, morning(anniversary))
    await organiser.wait_for_message(lambda m: m.document is not None and m.document.filename.endswith(".docx")
                                     and m.message_id > files[2].message_id)
    yearly = organiser.messages[before:]
    assert yearly[0].photo is not None and yearly[0].caption.startswith("📊 Yearly monitoring report")
    assert [m.document.filename for m in yearly[1:]] == [f"plan-kok-irim-{anniversary}.xlsx",
                                                         f"plan-kok-irim-{anniversary}.docx"]
    text = "\n".join(p.text for p in Document(io.BytesIO(yearly[2].document.data)).paragraphs)
    assert "decision No. 12" in text and "Period: " in text


def question_occ(message) -> int:
    return ScoreCB.unpack(message.callback_data("1")).occ


async def test_dates_the_steps_cannot_read_are_refused_and_asked_again(bot: Harness) -> None:
    """Each typed-date step (an activity's start and due dates, its monitoring dates, the council's approval, a
    survey's first date) answers a text without the dates it needs, or with the due date before the start, and
    stays at that step."""
    await people(bot)
    await closed_round(bot.db)
    organiser = bot.user(ORGANISER)
    unreadable = "I could not read a date. Please write dates like 31.12.2026."
    await organiser.send("/plans")
    await organiser.tap(contains="New plan from")
    await organiser.tap("➕ Activity")
    await organiser.tap("1. Ички жолдор")
    await organiser.send("Gravel for the inner roads")
    await organiser.tap("a named person")
    await organiser.send(str(MAN))
    start, due = local_day(5), local_day(60)
    await organiser.send(f"{start:%d.%m.%Y}")  # one date where two are needed
    assert organiser.last.text == unreadable
    await organiser.send(f"{due:%d.%m.%Y} {start:%d.%m.%Y}")
    assert organiser.last.text == "The due date cannot be before the start."
    await organiser.send(f"{start:%d.%m.%Y} {due:%d.%m.%Y}")
    await organiser.tap("local budget")
    await organiser.send("1000")
    await organiser.tap("✔️ Done")
    await organiser.send("Gravel on all inner roads")
    await organiser.send("4 km of road gravelled")
    await organiser.tap("On set dates")
    await organiser.send("in the spring")
    assert organiser.last.text == unreadable
    await organiser.send(f"{local_day(20):%d.%m.%Y}")
    assert "Gravel for the inner roads" in organiser.last.text
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap("✅ Council approval")
    await organiser.send("decision No. 12")
    assert organiser.last.text == unreadable
    await organiser.send("31.02.2026 decision No. 12")  # no such day
    assert organiser.last.text == unreadable
    await organiser.send(f"{local_day(-1):%d.%m.%Y} decision No. 12")
    assert organiser.last.text.startswith("Recorded: approved by the local council on ")
    await organiser.send("/plans")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap("⭐ Satisfaction survey")
    await organiser.tap("roads")
    await organiser.send(f"{local_day(10):%d.%m.%Y} {local_day(20):%d.%m.%Y}")  # two first dates
    assert organiser.last.text == unreadable
    await organiser.send(f"{local_day(10):%d.%m.%Y} 6 2")
    assert organiser.last.text.startswith("The survey about roads is planned: first on ")
