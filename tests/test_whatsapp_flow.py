"""A villager on WhatsApp, end to end through the WhatsApp Cloud API emulator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.emulator import tiny_png
from bot.emulator.whatsapp import WaPhone
from services import channels, events, voting
from services.people import person_by_telegram_id
from services.places import find_aiyl_aimak
from services.roles import Role, grant
from storage.channels import ChannelIdentity
from storage.db import Database
from storage.delivery import Broadcast
from storage.events import Event
from storage.models import Person, utcnow
from storage.plan import MonitoringAnswer
from storage.voting import Ballot, VotingRound
from tests.harness import Harness, run_tasks_at, running_bot
from tests.test_events import FAST, delivered, make_event, organiser
from tests.test_helpdesk_flow import GROUP, LAWYER_1
from tests.test_plan_flow import ORGANISER as PLAN_ORGANISER
from tests.test_plan_flow import build_plan, local_day, morning, tick
from tests.test_plan_flow import people as plan_people
from tests.test_registration import register


async def chat_of(bot: Harness, villager: WaPhone) -> int:
    """The synthetic chat id the bot uses for a WhatsApp villager."""
    async with bot.db.session() as session:
        return int(await session.scalar(select(ChannelIdentity.chat_id).where(ChannelIdentity.wa_id == villager.wa_id)))


@pytest.fixture
async def wabot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, whatsapp=True) as harness:
        yield harness


async def wa_register(bot: Harness, wa_id: str, village: str = "Арал", name: str = "Aigul"):
    villager = bot.wa_user(wa_id, name)
    await villager.send("salam")
    await villager.tap("English")
    await villager.tap("Көк-Ирим")
    await villager.tap(village)
    await villager.tap("Skip")
    assert f"you are registered in {village}" in villager.last.text, villager.dump()
    return villager


async def twelve_problem_round(db: Database, organiser: int = 2001) -> int:
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА 2026", created_by=organiser,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=organiser)
        for number in range(1, 13):
            await voting.add_problem(session, rnd, title_ky=f"Көйгөй {number}", title_ru=f"Проблема {number}",
                                     by=organiser)
        await voting.publish_ballot(session, rnd, by=organiser)
        return rnd.id


async def test_five_choices_on_a_twelve_problem_ballot(wabot: Harness) -> None:
    villager = await wa_register(wabot, "996700200002")
    round_id = await twelve_problem_round(wabot.db)
    await villager.send("/vote")
    ballot = villager.last
    assert len(ballot.menu) == 13 and "Send the number" in ballot.text, villager.dump()
    before = len(villager.messages)
    await villager.choose("2 5 7 9 11")
    assert len(villager.messages) == before + 1, villager.dump()  # one new menu, not five
    assert "Chosen: 5 of 5." in villager.last.text, villager.dump()
    await villager.tap(contains="Next: check my choice (5)")
    assert "You chose:" in villager.last.text
    await villager.tap("✅ Confirm")
    receipt = re.search(r"Receipt code: `?(\w{4}-\w{4})", villager.last.text)
    assert receipt, villager.dump()
    await villager.send(f"/receipt {receipt.group(1)}")
    async with wabot.db.session() as session:
        ballots = (await session.scalars(select(Ballot).where(Ballot.round_id == round_id))).all()
        assert len(ballots) == 1
        titles = {p.id: p.title_ru for p in await voting.problems_of(session, round_id)}
        view = await voting.my_ballot(session, round_id, ballots[0].person_id)
    assert sorted(titles[p] for p in view.problem_ids) == sorted(f"Проблема {n}" for n in (2, 5, 7, 9, 11))


async def test_telegram_person_writing_from_whatsapp_is_the_same_person(wabot: Harness) -> None:
    tg = await register(wabot, 1301, language="English", village="Бирдик", sex=None, phone="+996700300001")
    round_id = await twelve_problem_round(wabot.db)
    await tg.send("/vote")
    await tg.tap(contains="Проблема 3")
    await tg.tap(contains="Next: check my choice (1)")
    await tg.tap("✅ Confirm")
    assert "Your ballot is counted." in tg.last.text

    villager = wabot.wa_user("996700300001", "Aibek")
    await villager.send("salam")
    said = "\n".join(villager.texts)
    assert "already registered in Бирдик" in said and "same person" in said, villager.dump()
    assert "Welcome back!" in villager.last.text, villager.dump()  # no second registration
    await villager.send("/vote")
    ballot = villager.last  # the same ballot: the choice made on Telegram is there
    assert "Ballot of Бирдик" in ballot.text and "Chosen: 1 of 5." in ballot.text and "3. ✅ Проблема 3" in ballot.text
    await villager.choose("1 2")
    await villager.tap(contains="Next: check my choice (3)")
    await villager.tap("✅ Confirm")
    assert "Your ballot is counted." in villager.last.text, villager.dump()
    async with wabot.db.session() as session:
        people = (await session.scalars(select(Person).where(Person.phone_hash.is_not(None)))).all()
        ballots = (await session.scalars(select(Ballot).where(Ballot.round_id == round_id))).all()
        telegram_person = await person_by_telegram_id(session, 1301)
        view = await voting.my_ballot(session, round_id, telegram_person.id)
    assert len(people) == 1 and len(ballots) == 1 and ballots[0].person_id == telegram_person.id
    assert len(view.problem_ids) == 3  # the last ballot confirmed counts, once


@pytest.fixture
async def fastbot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, whatsapp=True, **FAST) as harness:
        yield harness


async def test_notice_and_reminder_outside_the_window_come_as_templates(fastbot: Harness) -> None:
    bot = fastbot
    await organiser(bot, "kok-irim")
    villager = await wa_register(bot, "996700400001")
    assert bot.wa is not None
    bot.wa.advance(hours=30)  # the 24-hour window closes
    event_id = await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=None)
    await delivered(bot)
    template = villager.last
    assert template.type == "template" and "Draft local budget for 2027" in template.text, villager.dump()
    assert await bot.wa.post(bot.wa.status(template.id, "read")) == 200
    async with bot.db.session() as session:
        broadcast_id = await session.scalar(select(Broadcast.id))
        assert (await channels.broadcast_statuses(session, broadcast_id))["read"] == 1  # against the outbox row
    await villager.tap(villager.last.buttons[0])  # "Read", in the template's language
    notice = villager.newest(lambda m: any(r["title"] == "I will come" for r in m.rows))
    assert "Draft local budget for 2027" in notice.text, villager.dump()
    assert any(m.type == "document" for m in villager.messages[-2:])  # the calendar file
    await villager.tap("I will come")
    chat_id = await chat_of(bot, villager)
    async with bot.db.session() as session:
        event = await session.get(Event, event_id)
        person = await person_by_telegram_id(session, chat_id)
        assert await events.response_of(session, event_id, person) == "yes"
        starts_at = event.starts_at

    bot.wa.advance(hours=30)
    assert bot.app is not None
    assert (await run_tasks_at(bot.app, now=starts_at - timedelta(days=1) + timedelta(minutes=1))).count(
        "event.reminder") == 1
    await delivered(bot)
    assert villager.last.type == "template" and "Reminder" in villager.last.text, villager.dump()
    await villager.send("ok")
    assert any((m.text or "").startswith("⏰ Reminder, in 1 day") for m in villager.messages[-3:]), villager.dump()


async def test_voice_question_answered_after_30_hours(db: Database) -> None:
    async with running_bot(db, whatsapp=True, helpdesk_group_chat_id=GROUP, helpdesk_askers="registered",
                           default_language="en") as bot:
        group = bot.emu.group(GROUP, "Union lawyers")
        async with db.session() as session:
            await grant(session, LAWYER_1, Role.LAWYER)
        lawyer = bot.user(LAWYER_1, "Nurlan", language_code="en")
        await lawyer.send("/start")
        await lawyer.tap("English")
        villager = await wa_register(bot, "996700500001")
        await villager.send("/ask")
        await villager.tap(contains="Land")
        await villager.send("Can the aiyl okmotu take back my land plot?")
        await villager.send_voice(b"OggS\x00 my voice note")
        assert "Attached: 1" in villager.last.text, villager.dump()
        await villager.tap("Submit the question")
        assert "Your question is received: *No. 1*" in villager.last.text, villager.dump()

        card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
        await lawyer.tap("Take", message=card)
        voice = next(m for m in lawyer.messages if m.document is not None)
        assert voice.document.data == b"OggS\x00 my voice note"  # the lawyer hears the audio

        # A clarification round trip, within the window.
        await lawyer.tap("Ask for details")
        await lawyer.send("Is the plot registered in your name?")
        assert "Is the plot registered in your name?" in villager.last.text, villager.dump()
        await villager.tap("Reply with details")
        await villager.send("Yes, since 2015.")
        assert "Added to question No. 1" in villager.last.text, villager.dump()
        assert "Yes, since 2015." in lawyer.last.text

        assert bot.wa is not None
        bot.wa.advance(hours=30)
        await lawyer.tap("Open No. 1")
        await lawyer.tap("Answer")
        await lawyer.send("No: a plot in private ownership can only be taken by a court decision.")
        await lawyer.tap("Send the answer")
        await bot.wa.settle()
        template = next(m for m in villager.messages if m.type == "template")
        assert template.raw["template"]["name"] == "jamaat_answer_ready", villager.dump()
        assert not any("court decision" in (m.text or "") for m in villager.messages)  # never in a template
        await villager.send("hello")
        answer = villager.newest(lambda m: "Answer to your question No. 1" in (m.text or ""))
        assert "court decision" in answer.text
        await villager.tap("It helped")
        await villager.tap("⭐⭐⭐⭐⭐")
        assert "Question No. 1 is closed" in villager.last.text, villager.dump()
        assert "rated the answer 5 of 5" in lawyer.last.text


async def test_monitoring_answer_with_a_photo(db: Database) -> None:
    async with running_bot(db, whatsapp=True, outbox_chat_interval=0.0) as bot:
        await plan_people(bot)
        villager = await wa_register(bot, "996700600001")
        plan_id, activity_id, due, checks = await build_plan(bot)
        organiser = bot.user(PLAN_ORGANISER)
        await organiser.send("/plans")
        await organiser.tap(contains="ЖМБА 2026")
        await organiser.tap("👥 Groups")
        await organiser.tap("Monitoring group")
        await organiser.send("+996700600001")
        assert "added" in organiser.last.text, organiser.dump()
        await tick(bot, morning(checks[0]))
        await bot.wa.settle()
        prompt = villager.newest(lambda m: "Monitoring" in (m.text or ""))
        assert "Activity: *Gravel for the inner roads*" in prompt.text, villager.dump()
        await villager.tap("in progress")
        await villager.tap("50%")
        await villager.send("Half of the gravel is on the road")
        await villager.send_image(tiny_png())
        assert villager.last.text == "Thank you, your monitoring answer is saved: in progress, 50% done.", \
            villager.dump()
        async with bot.db.session() as session:
            answers = (await session.scalars(select(MonitoringAnswer))).all()
        assert [(a.status, a.percent, a.photo_file_id is not None) for a in answers] == [("in_progress", 50, True)]

        # A satisfaction poll reaches the WhatsApp villager too.
        await organiser.send("/plans")
        await organiser.tap(contains="ЖМБА 2026")
        await organiser.tap("⭐ Satisfaction survey")
        await organiser.tap("drinking water")
        day = local_day(10)
        await organiser.send(f"{day:%d.%m.%Y}")
        await tick(bot, morning(day))
        await bot.wa.settle()
        poll = villager.newest(lambda m: "how satisfied" in (m.text or ""))
        assert [r["title"] for r in poll.rows] == ["1", "2", "3", "4", "5"], villager.dump()
        await villager.tap("4")
        assert "Your answer: 4 of 5. Thank you!" in villager.last.text, villager.dump()


async def test_a_telegram_person_on_whatsapp_gets_notices_there(fastbot: Harness) -> None:
    bot = fastbot
    await organiser(bot, "kok-irim")
    tg = await register(bot, 1302, language="English", village="Арал", sex=None, phone="+996700300002")
    villager = bot.wa_user("996700300002", "Aibek")
    await villager.send("salam")
    await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=None)
    await delivered(bot)
    assert any("Draft local budget for 2027" in (m.text or "") for m in villager.messages), villager.dump()
    assert not any("Draft local budget" in (t or "") for t in tg.texts)  # one notice, where they are now


async def test_a_linked_person_is_reached_where_they_wrote_last(fastbot: Harness) -> None:
    """Notices follow the person to the channel they used most recently, both ways."""
    bot = fastbot
    await organiser(bot, "kok-irim")
    tg = await register(bot, 1303, language="English", village="Арал", sex=None, phone="+996700300003")
    villager = bot.wa_user("996700300003", "Aibek")

    def notices(texts: list[str | None]) -> int:
        return sum("Draft local budget for 2027" in (t or "") for t in texts)

    await villager.send("salam")  # now on WhatsApp
    await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=None)
    await delivered(bot)
    assert (notices(tg.texts), notices(villager.texts)) == (0, 1), villager.dump()

    await tg.send("/start")  # back on Telegram
    await make_event(bot, "kok-irim", starts_in=timedelta(days=4), progress=None)
    await delivered(bot)
    assert (notices(tg.texts), notices(villager.texts)) == (1, 1), tg.dump()

    await villager.send("hello")  # and on WhatsApp again
    await make_event(bot, "kok-irim", starts_in=timedelta(days=5), progress=None)
    await delivered(bot)
    assert (notices(tg.texts), notices(villager.texts)) == (1, 2), villager.dump()


async def test_a_whatsapp_person_writing_to_the_telegram_bot_is_the_same_person(wabot: Harness) -> None:
    """Registered on WhatsApp first; the same number shared on Telegram links the account, one ballot."""
    villager = await wa_register(wabot, "996700300004", village="Бирдик")
    round_id = await twelve_problem_round(wabot.db)
    await villager.send("/vote")
    await villager.choose("3")
    await villager.tap(contains="Next: check my choice (1)")
    await villager.tap("✅ Confirm")
    assert "Your ballot is counted." in villager.last.text, villager.dump()

    tg = wabot.user(1304, phone="+996700300004")
    await tg.send("/start")
    await tg.tap("Русский")
    await tg.share_contact()
    said = "\n".join(t or "" for t in tg.texts)
    assert "уже зарегистрирован" in said and "Бирдик" in said, tg.dump()  # told so, in their language
    assert "another Telegram account" not in said and "другим аккаунтом" not in said, tg.dump()
    await tg.send("/vote")  # the same ballot: the choice made on WhatsApp is there
    assert "Бирдик" in tg.last.text and "Выбрано: 1 из 5." in tg.last.text, tg.dump()
    await tg.tap(contains="Проблема 4")
    await tg.tap(contains="Далее: проверить выбор (2)")
    await tg.tap(index=0)
    assert "Ваш бюллетень учтён." in tg.last.text, tg.dump()
    wa_chat = await chat_of(wabot, villager)
    async with wabot.db.session() as session:
        person = await person_by_telegram_id(session, 1304)
        wa_person = await person_by_telegram_id(session, wa_chat)
        assert person is not None and wa_person is not None and person.id == wa_person.id
        assert person.village.code == "birdik"
        people_with_phone = (await session.scalars(select(Person).where(Person.phone_hash.is_not(None)))).all()
        ballots = (await session.scalars(select(Ballot).where(Ballot.round_id == round_id))).all()
    assert len(people_with_phone) == 1 and len(ballots) == 1


async def test_vote_opened_and_results_reach_a_whatsapp_villager_outside_the_window(fastbot: Harness) -> None:
    """The vote-opened notice and the results (with their chart) come as templates outside the 24-hour window,
    the full messages when the villager taps "Read"."""
    from jobs.voting import queue_notices

    bot = fastbot
    assert bot.wa is not None and bot.app is not None
    villager = await wa_register(bot, "996700400002")
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА 2026", created_by=2001,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=2001)
        for number in range(1, 4):
            await voting.add_problem(session, rnd, title_ky=f"Көйгөй {number}", title_ru=f"Проблема {number}",
                                     by=2001)
        await voting.publish_ballot(session, rnd, by=2001)
        round_id = rnd.id
    bot.wa.advance(hours=30)  # the window closes
    assert await queue_notices(bot.app, round_id, "ballot", by=None) == 1
    await delivered(bot)
    template = villager.last
    assert template.type == "template" and "ЖМБА 2026" in template.text, villager.dump()
    await villager.tap(template.buttons[0])  # "Read"
    notice = villager.newest(lambda m: "Voting is open" in (m.text or ""))
    assert "Арал" in notice.text, villager.dump()
    await villager.tap("Open the ballot")
    await villager.tap(contains="Проблема 2")
    await villager.tap(contains="Next: check my choice (1)")
    await villager.tap("✅ Confirm")
    assert "Your ballot is counted." in villager.last.text, villager.dump()

    async with bot.db.session() as session:
        rnd = await session.get(VotingRound, round_id)
        assert await voting.close_round(session, rnd, by=2001)
        assert await voting.publish_results(session, rnd, by=2001)
    bot.wa.advance(hours=30)
    assert await queue_notices(bot.app, round_id, "results", by=None) == 1
    await delivered(bot)
    template = villager.last
    assert template.type == "template" and "Results of the vote" in template.text, villager.dump()
    await villager.tap(template.buttons[0])
    results = villager.newest(lambda m: "Results of the vote:" in (m.text or "") and m.type != "template")
    assert results.type == "image" and "Проблема 2: 1" in results.text, villager.dump()


async def test_throttling_is_counted_in_the_organisers_broadcast_report(db: Database) -> None:
    from bot.emulator.whatsapp import WhatsAppLimits
    from tests.test_events import ORGANISER

    async with running_bot(db, whatsapp=True, **{**FAST, "whatsapp_retry_seconds": 0.2}) as bot:
        boss = await organiser(bot, "kok-irim")
        await wa_register(bot, "996700400003")
        await wa_register(bot, "996700400004", village="Бирдик")
        assert bot.wa is not None
        bot.wa.limits = WhatsAppLimits(per_second=1)  # the second notice within a second is throttled
        await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=ORGANISER)
        await delivered(bot)
        report = await boss.wait_for_message(lambda m: (m.text or "").startswith("✅ Sent"))
        assert bot.wa.stats["130429"] > 0
        line = next(line for line in report.text.splitlines() if line.startswith("Slowed down by the messenger"))
        assert int(line.rsplit(" ", 1)[1]) > 0, report.text
async def test_a_village_link_on_whatsapp_registers_into_the_village(wabot: Harness) -> None:
    from services.places import ensure_link_code, village_links
    from storage.models import Village

    async with wabot.db.session() as session:
        aral = await session.scalar(select(Village).where(Village.code == "aral"))
        links = village_links(await ensure_link_code(session, aral), bot_username=None,
                              whatsapp_number="+996 555 000 000")
    assert links.whatsapp is not None and links.whatsapp.endswith(links.payload)
    villager = wabot.wa_user("996700200077", "Nurbek")
    await villager.send(links.payload)  # what wa.me/<number>?text=v-<code> puts in the message box
    await villager.tap("English")
    await villager.tap("Skip")
    assert "you are registered in Арал" in villager.last.text, villager.dump()


async def test_a_broadcast_report_to_whatsapp_is_one_message(db: Database) -> None:
    """WhatsApp has no edits (each would be a new message): a progress chat there gets no progress messages, only
    the final report, once (issue 12)."""
    from tests.test_outbox import people, queue

    async with running_bot(db, whatsapp=True, **{**FAST, "outbox_batch": 3, "outbox_progress_seconds": 0.0}) as bot:
        boss = await wa_register(bot, "996700400009")
        seen = len(boss.messages)
        recipients = await people(db, bot.emu, 12, languages=("en",))
        await queue(db, recipients, progress_chat_id=await chat_of(bot, boss))
        for _ in range(300):  # the report is queued once the last notice is sent
            await delivered(bot)
            new = [m.text or "" for m in boss.messages[seen:]]
            if any(text.startswith("✅ Sent") for text in new):
                break
            await bot.wa.wait_change(0.1)
        assert len(new) == 1 and new[0].startswith("✅ Sent: Test <notice>"), new
        assert "Delivered: 12 of 12" in new[0]
