"""Hearings and meeting notices, end to end through the emulator: announcing, answers, questions, reminders,
changes, the outcome and its protocol; a 500-villager broadcast under Telegram-like limits."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import docx
import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select

from bot.emulator import Limits
from handlers.events.buttons import CardCB, RsvpCB
from jobs.events import NOTICES_TASK, remind, schedule_announcement
from services import events, roles, tasks
from services.events import EventError
from services.outbox import broadcast_progress
from services.roles import Role, roles_of
from storage.db import Database
from storage.delivery import OPEN_STATES, OutboxMessage, ScheduledTask
from storage.events import Event, EventInvite, EventQuestion
from storage.models import AiylAimak, Person, Village, utcnow
from tests.harness import PATIENCE, Harness, run_tasks_at, running_bot

ZONE = ZoneInfo("Asia/Bishkek")
ORGANISER = 8001
FAST = {"outbox_per_second": 400.0, "outbox_chat_interval": 0.0, "outbox_progress_seconds": 0.5,
        "jobs_interval_seconds": 0.2, "outbox_concurrency": 8}


@pytest.fixture
async def bot(db: Database):
    async with running_bot(db, **FAST) as harness:
        yield harness


async def aimak_id(db: Database, code: str) -> int:
    async with db.session() as session:
        return (await session.scalar(select(AiylAimak.id).where(AiylAimak.code == code))) or 0


async def villagers(bot: Harness, aimak: str, count: int, *, first: int, languages=("en",),
                    villages: list[str] | None = None) -> list[int]:
    """Registered villagers (straight into the database) with chats in the emulator; returns Telegram ids."""
    async with bot.db.session() as session:
        query = select(Village).join(AiylAimak).where(AiylAimak.code == aimak).order_by(Village.id)
        places = [v for v in (await session.scalars(query)).all() if villages is None or v.code in villages]
        for i in range(count):
            village = places[i % len(places)]
            session.add(Person(telegram_id=first + i, first_name=f"V{i}", language=languages[i % len(languages)],
                               village_id=village.id, aiyl_aimak_id=village.aiyl_aimak_id, registered_at=utcnow(),
                               sex="f" if i % 2 else "m"))
    ids = list(range(first, first + count))
    for telegram_id in ids:
        bot.emu.user(telegram_id, f"V{telegram_id}", language_code="en")
    return ids


async def organiser(bot: Harness, aimak: str, telegram_id: int = ORGANISER):
    await villagers(bot, aimak, 1, first=telegram_id)
    scope = await aimak_id(bot.db, aimak)  # a session of its own: not inside the one below
    async with bot.db.session() as session:
        await roles.grant(session, telegram_id, Role.ORGANISER, scope)
    return bot.user(telegram_id, "Organiser", language_code="en")


def local(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%d.%m.%Y %H:%M")


async def make_event(bot: Harness, aimak: str, *, starts_in: timedelta, reminders=(1440, 120),
                     villages: list[str] | None = None, progress: int | None = ORGANISER) -> int:
    """An event announced through the service (as the handler does); returns once its background task has queued
    the notices in the outbox."""
    assert bot.app is not None
    aimak_pk = await aimak_id(bot.db, aimak)
    async with bot.db.session() as session:
        places = (await session.scalars(select(Village).where(Village.aiyl_aimak_id == aimak_pk))).all()
        chosen = [v.id for v in places if villages is None or v.code in villages]
        starts_at = (utcnow() + starts_in).replace(second=0, microsecond=0)
        who = await roles_of(session, ORGANISER)
        event = await events.create_event(
            session, roles=who, aiyl_aimak_id=aimak_pk, kind="hearing", topic="Draft local budget for 2027",
            agenda="1. Revenues\n2. Spending", starts_at=starts_at, place="Club", village_ids=chosen,
            whole_aimak=villages is None, reminder_minutes=list(reminders))
        await schedule_announcement(session, event, settings=bot.app.settings, progress_chat_id=progress)
        event_id = event.id
    await fanned_out(bot, event_id)
    return event_id


async def fanned_out(bot: Harness, event_id: int, *, timeout: float = 30.0) -> None:
    """Wait until the background task of the event's announcement has run (the outbox has its notices)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with bot.db.session() as session:
            status = await session.scalar(select(ScheduledTask.status).where(
                ScheduledTask.kind == NOTICES_TASK, ScheduledTask.key.startswith(f"event:{event_id}:notices:")))
        if status in (None, tasks.TASK_DONE):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the announcement of event {event_id} was not queued in {timeout} s")


async def delivered(bot: Harness, *, timeout: float = PATIENCE) -> None:
    """Wait until the background sender has emptied the outbox (polling the database, as the test driver polls
    the emulator)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with bot.db.session() as session:
            left = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.status.in_(OPEN_STATES)))
            fanning = await session.scalar(select(func.count()).select_from(ScheduledTask).where(
                ScheduledTask.kind == NOTICES_TASK, ScheduledTask.status.in_((tasks.TASK_PENDING, tasks.TASK_RUNNING))))
        if not left and not fanning:  # nor an announcement still to be queued by its background task
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox was not drained in {timeout} s: {left} messages left")


def texts(bot: Harness, telegram_id: int) -> list[str | None]:
    return bot.emu.user(telegram_id).texts


async def test_an_organiser_announces_in_chat_and_villagers_answer(bot: Harness) -> None:
    boss = await organiser(bot, "kok-irim")
    aral = await villagers(bot, "kok-irim", 3, first=20_000, villages=["aral"], languages=("en", "ru", "ky"))
    birdik = await villagers(bot, "kok-irim", 2, first=21_000, villages=["birdik"])
    elsewhere = await villagers(bot, "cholpon", 2, first=22_000)
    when = (utcnow() + timedelta(days=10)).astimezone(ZONE).replace(hour=15, minute=0, second=0, microsecond=0)

    await boss.send("/event")
    await boss.tap("Public hearing")
    await boss.send("Draft local budget for 2027")
    await boss.send("1. Revenues\n2. Spending on <roads> & water")
    await boss.send("31.02.2026 10:00")
    assert "like 25.12.2026 15:00" in boss.last.text
    await boss.send(local(when))
    await boss.send("Club of Арал village")
    await boss.tap("Арал")
    await boss.tap("Done")
    await boss.send_document(b"%PDF-1.4 budget", "budget-2027.pdf")
    assert "Added: budget-2027.pdf" in boss.last.text
    await boss.tap("Done")
    assert "Preview" in boss.last.text and "It goes to 4 registered villagers" in boss.last.text
    assert "1 day, 2 hours" in boss.last.text
    await boss.tap(contains="Русский")
    assert "(Русский)" in boss.last.text
    await boss.tap("⏰ Change reminders")
    await boss.send("2d, 3h")
    assert "2 days, 3 hours" in boss.last.text
    await boss.tap("📤 Send")
    assert "The notice is on its way" in boss.last.text
    await delivered(bot)

    in_their_language = {
        "en": ("📣 Public hearing", [["I will come", "I can't come"], ["Ask a question or make a proposal"]]),
        "ru": ("📣 Общественные слушания", [["Я приду", "Не смогу прийти"], ["Задать вопрос или внести предложение"]]),
        "ky": ("📣 Коомдук угуулар", [["Келем", "Келе албайм"], ["Суроо берүү же сунуш киргизүү"]]),
    }
    for telegram_id, language in zip(aral, ("en", "ru", "ky"), strict=True):
        notice, pdf = bot.emu.user(telegram_id).messages  # one message: the notice is the calendar file's caption
        calendar = notice
        heading, buttons = in_their_language[language]
        assert notice.text.startswith(f"{heading}: Draft local budget for 2027")
        # The date in words, in the reader's language ("Thursday, 3 December 2026, 15:00").
        assert format_datetime(when, "EEEE, d MMMM y, HH:mm", tzinfo=ZONE, locale=language) in notice.text
        assert "Spending on <roads> & water" in notice.text
        assert notice.buttons == buttons
        links = [e["url"] for e in notice.entities if e["type"] == "text_link"]
        assert links and links[0].startswith("https://t.me/jamaat_bot?start=event_")
        ics = calendar.document.data.decode()
        assert calendar.document.filename.endswith(".ics") and "BEGIN:VEVENT" in ics
        assert f"DTSTART:{when.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}" in ics
        assert pdf.document.data == b"%PDF-1.4 budget"
    assert all(texts(bot, t) == [] for t in birdik + elsewhere)
    progress = [await boss.wait_for_message(lambda m: (m.text or "").startswith("✅ Sent"))]
    assert progress and "Delivered: 4 of 4" in progress[-1].text  # the organiser lives in Арал too

    # Answers, a change of mind, a question; the deep link opens the event.
    villager = bot.user(aral[0])
    notice = villager.messages[0]
    await villager.tap("I will come", message=notice)
    assert villager.last_answer == ("Thank you! We expect you.", False)
    assert notice.buttons[0] == ["✅ I will come", "I can't come"]
    await villager.tap("I can't come", message=notice)
    await villager.tap("Ask a question or make a proposal", message=notice)
    await villager.send("Please put the water pipe of the upper street in the budget.")
    assert "passed to the organisers" in villager.last.text
    event_id = int(links[0].rsplit("_", 1)[1])
    await villager.send(f"/start event_{event_id}")
    assert villager.last.text.startswith("📣 Public hearing") and villager.last.buttons[0][1] == "✅ I can't come"
    outsider = bot.user(elsewhere[0])
    await outsider.send(f"/start event_{event_id}")
    assert "not for your village" in outsider.last.text
    await outsider.tap_data(RsvpCB(action="yes", event_id=event_id).pack(), message=outsider.last)
    assert outsider.last_answer == ("This event is for the villagers of other places.", True)
    async with bot.db.session() as session:
        answers = dict((await session.execute(select(EventInvite.person_id, EventInvite.response))).all())
        assert sorted(answers.values(), key=str) == sorted(["no", None, None, None], key=str)
        assert (await session.scalar(select(EventQuestion.text))).startswith("Please put the water pipe")
        reminders = sorted(t.run_at for t in (await session.scalars(
            select(ScheduledTask).where(ScheduledTask.kind == events.REMINDER_TASK))).all())
    assert reminders == [when - timedelta(days=2), when - timedelta(hours=3)]

    await boss.send("/events")
    await boss.tap(contains="Draft local budget")
    assert "Will come: 0; can't come: 1; no answer yet: 3" in boss.last.text
    await boss.tap("Questions and proposals")
    assert "water pipe of the upper street" in boss.last.text

    # Only the aiyl aimak's organisers announce: not a villager, not another aiyl aimak's organiser.
    villager_id = (await villagers(bot, "kok-irim", 1, first=30_000))[0]
    villager = bot.user(villager_id)
    await villager.send("/event")
    assert "only for the role" in villager.last.text
    # An organiser of Бел sees only Бел: their /event goes straight on for Бел…
    other = await organiser(bot, "bel", telegram_id=8002)
    await other.send("/event")
    assert other.last.text == "What kind of event is it?"
    # …a forged choice of Көк-Ирим is refused, and so is the service call.
    kok_irim = await aimak_id(bot.db, "kok-irim")
    await other.send("/event")
    async with bot.db.session() as session:
        who = await roles_of(session, 8002)
        with pytest.raises(EventError) as refused:
            await events.create_event(session, roles=who, aiyl_aimak_id=kok_irim, kind="hearing", topic="x",
                                      agenda="", starts_at=utcnow() + timedelta(days=3), place="p", village_ids=[],
                                      whole_aimak=True, reminder_minutes=[])
        assert refused.value.code == "not_organiser"
    # Their buttons on a Көк-Ирим event are refused too.
    await other.tap_data(CardCB(a="open", e=event_id).pack(), message=other.last)
    assert other.last_answer == ("Only organisers of this aiyl aimak can do this.", True)

    # A change and then the cancellation go to the same people, referring to the first notice.
    later = (utcnow() + timedelta(days=12)).astimezone(ZONE).replace(hour=11, minute=0, second=0, microsecond=0)
    await boss.send("/events")
    await boss.tap(contains="Draft local budget")
    await boss.tap("Move the date")
    await boss.send(local(later))
    assert "Saved." in boss.last.text
    await delivered(bot)
    for telegram_id in aral:  # readers of English, Russian and Kyrgyz
        change = [t for t in texts(bot, telegram_id) if t and t.startswith("⚠️")]
        assert len(change) == 1 and "11:00" in change[0]
    assert "Change to the notice of" in [t for t in texts(bot, aral[0]) if t and t.startswith("⚠️")][0]
    assert all(texts(bot, t) == [] for t in birdik)
    async with bot.db.session() as session:
        task = await tasks.get(session, f"event:{event_id}:reminder:2880")
        assert task.run_at == later - timedelta(days=2) and task.status == "pending"
    await boss.send("/events")
    await boss.tap(contains="Draft local budget")
    await boss.tap("Cancel the event")
    await boss.tap("Yes, cancel it and tell the villagers")
    await delivered(bot)
    for telegram_id in aral:
        assert len([t for t in texts(bot, telegram_id) if t and t.startswith("❌")]) == 1
    assert [t for t in texts(bot, aral[0]) if t and t.startswith("❌")][0].startswith("❌ Cancelled")
    async with bot.db.session() as session:
        assert (await tasks.get(session, f"event:{event_id}:reminder:2880")).status == "cancelled"


async def test_reminders_survive_a_restart_and_follow_answers(bot: Harness) -> None:
    await organiser(bot, "sary-oy")
    coming, declining, silent = await villagers(bot, "sary-oy", 3, first=40_000)
    event_id = await make_event(bot, "sary-oy", starts_in=timedelta(days=3), progress=None)
    await delivered(bot)
    assert bot.app is not None
    for telegram_id, answer in ((coming, "I will come"), (declining, "I can't come")):
        await bot.user(telegram_id).tap(answer, message=bot.user(telegram_id).messages[0])
    async with bot.db.session() as session:
        event = await session.get(Event, event_id)
        starts_at = event.starts_at

    await bot.restart()
    assert "event.reminder" not in await run_tasks_at(bot.app, now=starts_at - timedelta(days=1, minutes=1))
    assert (await run_tasks_at(bot.app, now=starts_at - timedelta(days=1) + timedelta(minutes=1))).count(
        "event.reminder") == 1
    await delivered(bot)
    for telegram_id in (coming, silent, ORGANISER):
        assert texts(bot, telegram_id)[-1].startswith("⏰ Reminder, in 1 day: Public hearing")
    assert not any((t or "").startswith("⏰") for t in texts(bot, declining))

    # The one who was coming changes their mind: the second reminder skips them.
    await bot.user(coming).tap("I can't come", message=bot.user(coming).messages[0])
    assert (await run_tasks_at(bot.app, now=starts_at - timedelta(minutes=119))).count("event.reminder") == 1
    await delivered(bot)
    assert texts(bot, silent)[-1].startswith("⏰ Reminder, in 2 hours")
    assert sum((t or "").startswith("⏰") for t in texts(bot, coming)) == 1
    # A reminder made for another start time (the event moved) is dropped.
    await remind(bot.app, {"event_id": event_id, "minutes": 60,
                           "starts_at": (starts_at - timedelta(hours=5)).isoformat()},
                 run_at=starts_at, now=starts_at - timedelta(minutes=60))
    await delivered(bot)
    assert sum((t or "").startswith("⏰") for t in texts(bot, silent)) == 2


async def test_outcome_is_recorded_published_and_exported(bot: Harness) -> None:
    boss = await organiser(bot, "bel")
    people = await villagers(bot, "bel", 3, first=60_000)
    event_id = await make_event(bot, "bel", starts_in=timedelta(days=7))
    await delivered(bot)
    await boss.send("/events")
    await boss.tap(contains="Draft local budget")
    await boss.tap("Record the outcome")
    await boss.send("120")
    await boss.send("130")
    assert "cannot be more than" in boss.last.text
    await boss.send("70")
    await boss.send("The draft was read out and discussed.")
    await boss.send("Adopt the draft budget")
    await boss.send("100 0 0")
    await boss.send("Build a new bridge")
    await boss.send("50 50 20")
    assert "chair's vote decides" in boss.last.text
    await boss.tap("The chair voted against")
    await boss.tap("No more decisions")
    await boss.send("Light the main street\nRepair the club roof")
    assert "1. Adopt the draft budget — adopted: 100 for, 0 against, 0 abstained" in boss.last.text
    assert "not adopted: 50 for, 50 against, 20 abstained" in boss.last.text
    await boss.tap("📤 Publish to the villagers")
    protocol, table = [m.document for m in boss.messages if m.document is not None][-2:]
    await delivered(bot)
    for telegram_id in people:
        outcome = [t for t in texts(bot, telegram_id) if t and t.startswith("📝 Outcome")]
        assert len(outcome) == 1 and "Attended: 120, of them women 70 (58%)" in outcome[0]
        assert bot.emu.user(telegram_id).messages[-1].document.filename.endswith(".docx")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(protocol.data)).paragraphs)
    cells = [c.text for t in docx.Document(io.BytesIO(protocol.data)).tables for r in t.rows for c in r.cells]
    assert "Protocol" in text and "Light the main street" in text and "Chair: ____" in text
    assert "70 (58 %)" in cells and "Adopt the draft budget" in cells and "simple majority of those present; in a " \
        "tie the chair's vote decides" in cells
    rows = list(csv.reader(io.StringIO(table.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Event", "Kind", "Date and time"] and len(rows) == 3
    assert rows[2][8:] == ["Build a new bridge", "50", "50", "20", "against", "not adopted"]
    async with bot.db.session() as session:
        event = await session.get(Event, event_id)
        assert event.status == "held" and [d.adopted for d in event.decisions] == [True, False]


def test_decision_rules() -> None:
    assert events.decide("present+chair", 51, 40, 9, 100)
    assert not events.decide("present", 50, 10, 10, 100)  # not more than half of those present
    assert events.decide("cast", 50, 10, 10, 100)
    assert events.decide("present+chair", 40, 40, 20, 100, "for")
    assert not events.decide("cast+chair", 40, 40, 20, 100, "against")
    assert not events.decide("cast", 40, 40, 20, 100, "for")  # no casting vote under this rule
    with pytest.raises(EventError):
        events.decide("present", 60, 50, 0, 100)
    assert events.parse_lead_times("1d, 2h") == [1440, 120]
    assert events.parse_lead_times("90m 1440") == [1440, 90]
    assert events.parse_lead_times("0") == []
    with pytest.raises(EventError):
        events.parse_lead_times("tomorrow")


async def test_a_broadcast_to_500_villagers_arrives_exactly_once(db: Database) -> None:
    """Three languages, Telegram-like limits scaled up, 10 who blocked the bot, injected 429s, and the bot
    restarted in the middle of the sending."""
    limits = Limits(global_per_second=1000.0, private_per_second=1.0, private_burst=3)
    async with running_bot(db, limits=limits, **{**FAST, "outbox_per_second": 500.0}) as bot:
        await organiser(bot, "cholpon")
        people = await villagers(bot, "cholpon", 500, first=100_000, languages=("ky", "ru", "en"))
        blocked = people[::50]
        for telegram_id in blocked:
            bot.emu.block(telegram_id)
        bot.emu.inject_429(2, retry_after=1)
        event_id = await make_event(bot, "cholpon", starts_in=timedelta(days=10))
        await bot.emu.wait_for(lambda: sum(len(bot.emu.user(t).messages) for t in people) >= 300,
                               timeout=2 * PATIENCE)
        await bot.restart()  # stops the sender in the middle: calls in flight are recorded, claims given back
        await delivered(bot, timeout=2 * PATIENCE)
        counts = Counter({t: len(bot.emu.user(t).messages) for t in people})
        reachable = [t for t in people if t not in blocked]
        assert all(counts[t] == 1 for t in reachable)  # the notice with its calendar file, once each
        assert all(counts[t] == 0 for t in blocked)
        assert bot.emu.stats.count("429") >= 2
        # One wording per language (the dates are in words in each; the catalogs fill in the rest).
        assert len({bot.emu.user(t).messages[0].text for t in reachable}) == 3
        # The final report is queued once the last notice is sent (one message a person now): wait for it.
        final = await bot.emu.user(ORGANISER).wait_for_message(lambda m: (m.text or "").startswith("✅ Sent"))
        assert f"Delivered: {len(reachable) + 1} of {len(people) + 1}" in final.text
        async with db.session() as session:
            event = await session.get(Event, event_id)
            progress = await broadcast_progress(session, await session.scalar(
                select(func.min(OutboxMessage.broadcast_id))))
            unreachable = await session.scalar(select(func.count()).select_from(Person)
                                               .where(Person.unreachable_at.is_not(None)))
        assert event is not None and progress.sent == len(reachable) + 1 and progress.unreachable == len(blocked)
        assert unreachable == len(blocked)


async def test_a_deep_link_opens_the_event_once_a_newcomer_has_registered(bot: Harness) -> None:
    await organiser(bot, "kok-irim")
    event_id = await make_event(bot, "kok-irim", starts_in=timedelta(days=10), progress=None)
    newcomer = bot.user(1501, "Newcomer", language_code="en", phone="+996700001501")
    await newcomer.send(f"/start event_{event_id}")
    assert newcomer.last.text == "Choose your language:"
    await newcomer.tap("English")
    await newcomer.share_contact()
    await newcomer.tap("Көк-Ирим")
    await newcomer.tap("Арал")
    await newcomer.tap("Skip")
    assert "you are registered in Арал" in newcomer.messages[-2].text
    assert newcomer.last.text.startswith("📣 Public hearing") and "Draft local budget" in newcomer.last.text
